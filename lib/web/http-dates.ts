/**
 * HTTP dates, as twisted.web.http's datetimeToString, datetimeToLogString and stringToDatetime.
 * Times are seconds since the epoch, as in Twisted.
 */

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LOWER = MONTHS.map((m) => m.toLowerCase());
const WEEKDAYS_LOWER = WEEKDAYS.map((d) => d.toLowerCase());

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** An IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Defaults to now. */
export function datetimeToString(secondsSinceEpoch: number = Date.now() / 1000): string {
  const d = new Date(Math.floor(secondsSinceEpoch) * 1000);
  return (
    `${WEEKDAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  );
}

/** The access-log form: "[06/Nov/1994:08:49:37 +0000]". Defaults to now. */
export function datetimeToLogString(secondsSinceEpoch: number = Date.now() / 1000): string {
  const d = new Date(Math.floor(secondsSinceEpoch) * 1000);
  return (
    `[${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000]`
  );
}

function toInt(s: string): number {
  if (!/^\d+$/.test(s)) throw new RangeError(`Unknown datetime format ${JSON.stringify(s)}`);
  return parseInt(s, 10);
}

/**
 * Seconds since the epoch of an HTTP date in any of the three formats of RFC 9110 5.6.7
 * (IMF-fixdate, RFC 850, asctime), weekday optional as Twisted allows. Throws a RangeError
 * on anything else.
 */
export function stringToDatetime(dateString: string): number {
  let parts = dateString.trim().split(/\s+/);
  if (parts.length && !WEEKDAYS_LOWER.includes(parts[0].slice(0, 3).toLowerCase())) parts = ["Sun,", ...parts];
  let day: string, month: string, year: number, time: string;
  const n = parts.length;
  if ((n === 5 || n === 6) && /^\d+$/.test(parts[1])) {
    [, day, month] = parts;
    year = toInt(parts[3]);
    time = parts[4];
  } else if ((n === 3 || n === 4) && parts[1].includes("-")) {
    const dmy = parts[1].split("-");
    if (dmy.length !== 3) throw new RangeError(`Unknown datetime format ${JSON.stringify(dateString)}`);
    [day, month] = dmy;
    year = toInt(dmy[2]);
    if (year < 69) year += 2000;
    else if (year < 100) year += 1900;
    time = parts[2];
  } else if (n === 5) {
    day = parts[2];
    month = parts[1];
    year = toInt(parts[4]);
    time = parts[3];
  } else {
    throw new RangeError(`Unknown datetime format ${JSON.stringify(dateString)}`);
  }
  const m = MONTHS_LOWER.indexOf(month.toLowerCase());
  const hms = time.split(":");
  if (m < 0 || hms.length !== 3) throw new RangeError(`Unknown datetime format ${JSON.stringify(dateString)}`);
  if (year < 1970) throw new RangeError("Years prior to 1970 not supported");
  return Date.UTC(year, m, toInt(day), toInt(hms[0]), toInt(hms[1]), toInt(hms[2])) / 1000;
}
