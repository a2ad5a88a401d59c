// What the API says about numbers: requests that never throw, and one answer's fields from its v1 and v2
// bodies, in the shape the card, the table and the CSV share. No DOM here.

export const EXAMPLE = "+7 495 989-85-33";
const FORMAT_ERROR = "Неверный формат номера"; // v1's 404 info for what is no phone number at all
const NOT_IN_REGISTRY = "Номер не найден"; // v1's 404 info for a Russian number in no allocated range

// One request; never throws. `failed` is a sentence for the user when there is no usable answer.
export async function call(url, options) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  } catch (error) {
    return { failed: "The service did not answer. Check the connection and try again." };
  }
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (notJson) {
    body = null;
  }
  const result = {
    status: response.status,
    statusText: response.statusText,
    text,
    body,
    source: response.headers.get("X-Numlookup-Source"),
  };
  if (response.status === 429) {
    const wait = Number(response.headers.get("Retry-After")) || (body && Number(body.retry_after)) || 1;
    result.failed = `Too many lookups from your address just now. Try again in ${plural(wait, "second")}.`;
  } else if (response.status >= 500) {
    result.failed = "The service could not answer because of an internal error. Try again later, "
      + "and tell its administrator if it keeps happening.";
  } else if (body === null) {
    result.failed = `The service answered something that is not JSON (HTTP ${response.status}).`;
  }
  return result;
}

export function postList(url, numbers) {
  return call(url, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(numbers),
  });
}

// What the service said about one number, in the shape the card, the table and the CSV share.
export function answerOf(input, v1, v2) {
  const row = { input, kind: "found", russian: false, digits: "", number: input, operator: "", oldOperator: "",
    region: "", locality: "", country: "", iso: "", type: "", timezone: "", utcOffset: "", timezones: [], callable: null };
  const v2Found = isObject(v2) && typeof v2.destination === "string" && v2.destination !== "not found";
  if (isObject(v1) && typeof v1.full_num === "string") {
    row.russian = true;
    row.digits = "7" + v1.full_num;
    row.number = russian(v1.full_num);
    row.operator = text(v1.operator);
    row.oldOperator = text(v1.old_operator);
    row.region = text(v1.region);
    row.locality = text(v1.locality);
  } else if (v2Found) {
    row.digits = internationalDigits(input);
    row.number = foreign(row.digits, v2.country_code) || input;
    row.operator = text(v2.registrar);
    row.region = text(v2.location);
  } else {
    const info = isObject(v1) ? text(v1.info) : "";
    row.kind = info.startsWith(FORMAT_ERROR) || input.trim() === "" ? "format"
      : info.startsWith(NOT_IN_REGISTRY) ? "missing" : "unknown";
    return row;
  }
  if (v2Found) {
    row.country = v2.destination;
    row.iso = text(v2.flag_iso);
    row.type = text(v2.description);
    row.timezone = text(v2.timezone);
    row.utcOffset = text(v2.utc_offset);
    row.timezones = Array.isArray(v2.timezones) ? v2.timezones.filter((zone) => typeof zone === "string") : [];
    row.callable = typeof v2.callable_now === "boolean" ? v2.callable_now : null;
  }
  return row;
}

// A sentence for a number that could not be answered (the card), or a short reason (a table row).
export function problem(row, short) {
  const shown = row.input.trim();
  switch (row.kind) {
    case "format":
      return short ? "Not a phone number"
        : shown === "" ? `Type a phone number first, for example ${EXAMPLE}.`
        : `“${shown}” is not a phone number. Type it with its country code, for example ${EXAMPLE}.`;
    case "missing":
      return short ? "Not in the Russian numbering plan"
        : `${shown} is not in the Russian numbering plan: no operator holds that range.`;
    default:
      return short ? "Unknown number" : `${shown} is not a number any country's numbering plan knows.`;
  }
}

export function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function text(value) {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

export function plural(count, word) {
  return `${count.toLocaleString("en")} ${word}${count === 1 ? "" : "s"}`;
}

// +7 917 041-55-64
function russian(national) {
  const n = national;
  return `+7 ${n.slice(0, 3)} ${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`;
}

function foreign(digits, countryCode) {
  const code = text(countryCode);
  if (!digits) return "";
  // +7 beyond the registry (numbers it lacks, Kazakhstan) is written as Russian numbers are
  if (code === "7" && digits.length === 11) return russian(digits.slice(1));
  return code && digits.startsWith(code) ? `+${code} ${digits.slice(code.length)}` : `+${digits}`;
}

// The international digits of what was typed, read as the service reads it (worker/numbers.py): the CSV's
// Number column for a foreign number, whose answers carry only a prefix (cns) of it.
function internationalDigits(raw) {
  const typed = raw.trim();
  const plus = typed.startsWith("+");
  const digits = (plus ? typed.slice(1) : typed).replace(/[\s\-.()\u00a0]/g, "");
  if (!/^[0-9]+$/.test(digits)) return "";
  if (plus) return digits;
  if (digits.startsWith("00")) return digits.slice(2);
  if (digits.startsWith("810") && digits.length > 11) return digits.slice(3);
  if (digits.length === 11 && digits[0] === "8") return "7" + digits.slice(1);
  if (digits.length === 10) return "7" + digits;
  return digits;
}

// The number's local time: from its IANA zone, else from its UTC offset. Empty when the answer has neither.
export function localTime(row, now) {
  const options = { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  let clock = "";
  if (row.timezone) {
    try {
      clock = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: row.timezone }).format(now);
    } catch (unknownZone) {
      clock = "";
    }
  }
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(row.utcOffset);
  if (!clock && offset) {
    const minutes = (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
    const shifted = new Date(now.getTime() + minutes * 60000);
    clock = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" }).format(shifted);
  }
  if (!clock) return "";
  const where = [row.utcOffset && `UTC${row.utcOffset}`, row.timezone].filter(Boolean).join(", ");
  return where ? `${clock} (${where})` : clock;
}

export function callableText(callable) {
  return callable ? "Yes, inside the calling window" : "No, outside the calling window";
}
