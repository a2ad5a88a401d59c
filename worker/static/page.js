// The lookup page: one number as a card, many numbers as a table, the service's state in the footer.
// Plain JavaScript, no libraries; it asks only the API it was served by (relative URLs), so it works behind a
// proxy under any path. Fields other numlookup versions may lack (locality, timezone, callable_now, the
// X-Numlookup-Source header) are shown when an answer has them and hidden when it does not.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const LIMIT = Number(document.body.dataset.batchLimit) || 1000;
  const EXAMPLE = "+7 495 989-85-33";
  const FORMAT_ERROR = "Неверный формат номера"; // v1's 404 info for what is no phone number at all
  const NOT_IN_REGISTRY = "Номер не найден"; // v1's 404 info for a Russian number in no allocated range
  const SOURCES = {
    registry: "the numbering registry",
    mnp: "the MNP database (ported numbers)",
    upstream: "an upstream MNP service",
    cache: "the cache of earlier answers",
  };
  const DATASETS = {
    bundled: "the registry bundled with numlookup",
    imported: "an imported registry",
    portal: "the registry from the official portal",
  };

  // ---- talking to the API -------------------------------------------------------------------------------

  // One request; never throws. `failed` is a sentence for the user when there is no usable answer.
  async function call(url, options) {
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

  function postList(url, numbers) {
    return call(url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(numbers),
    });
  }

  // ---- one answer, from its v1 and v2 bodies -------------------------------------------------------------

  // What the service said about one number, in the shape the card, the table and the CSV share.
  function answerOf(input, v1, v2) {
    const row = { input, kind: "found", russian: false, digits: "", number: input, operator: "", oldOperator: "",
      region: "", locality: "", country: "", iso: "", type: "", timezone: "", utcOffset: "", callable: null };
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
      row.callable = typeof v2.callable_now === "boolean" ? v2.callable_now : null;
    }
    return row;
  }

  // A sentence for a number that could not be answered (the card), or a short reason (a table row).
  function problem(row, short) {
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

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function text(value) {
    return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  }

  function plural(count, word) {
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
    return code && digits.startsWith(code) ? `+${code} ${digits.slice(code.length)}` : `+${digits}`;
  }

  // The international digits of what was typed, read as the service reads it (worker/numbers.py).
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
  function localTime(row, now) {
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

  function callableText(callable) {
    return callable ? "Yes, inside the calling window" : "No, outside the calling window";
  }

  // ---- one number: the card ------------------------------------------------------------------------------

  const card = $("card");
  let clockTimer = 0;

  function setField(name, value) {
    const field = card.querySelector(`[data-field="${name}"]`);
    field.hidden = !value;
    field.querySelector(".value").textContent = value || "";
    return field;
  }

  function showCard(row, source) {
    clearInterval(clockTimer);
    $("card-number").textContent = row.number;
    const operator = setField("operator", row.operator);
    operator.querySelector(".ported-mark").hidden = !row.oldOperator;
    setField("ported", row.oldOperator);
    setField("region", row.region);
    setField("locality", row.locality);
    const country = setField("country", row.country);
    const flag = country.querySelector(".flag");
    flag.textContent = row.iso;
    flag.hidden = !row.iso;
    setField("type", row.type && row.type[0].toUpperCase() + row.type.slice(1));
    const tick = () => setField("time", localTime(row, new Date()));
    tick();
    if (!card.querySelector('[data-field="time"]').hidden) clockTimer = setInterval(tick, 15000);
    const callable = setField("callable", row.callable === null ? "" : callableText(row.callable));
    callable.classList.toggle("no", row.callable === false);
    setField("source", source ? SOURCES[source] || source : "");
    card.hidden = false;
  }

  function say(id, message, isError) {
    const element = $(id);
    element.textContent = message || "";
    element.hidden = !message;
    element.classList.toggle("error", Boolean(isError));
  }

  function showRaw(id, result) {
    $(id + "-status").textContent = result.failed && result.status === undefined ? "no answer"
      : `${result.status} ${result.statusText}`;
    $(id).textContent = result.body === null || result.body === undefined ? result.text || ""
      : JSON.stringify(result.body, null, 2);
    $(id).classList.toggle("error", !(result.status >= 200 && result.status < 300));
  }

  async function lookup(number) {
    const query = "?num=" + encodeURIComponent(number);
    history.replaceState(null, "", query);
    document.body.dataset.lookup = "busy";
    card.setAttribute("aria-busy", "true");
    const [v1, v2] = await Promise.all([call("get/" + query), call("get/v2/" + query)]);
    card.removeAttribute("aria-busy");
    showRaw("v1", v1);
    showRaw("v2", v2);
    $("raw").hidden = false;
    const failed = v1.failed || v2.failed;
    const row = failed ? null : answerOf(number, v1.body, v2.body);
    if (failed || row.kind !== "found") {
      clearInterval(clockTimer);
      card.hidden = true;
      say("one-message", failed || problem(row, false), true);
    } else {
      say("one-message", "");
      showCard(row, v2.source || v1.source);
    }
    document.body.dataset.lookup = "done";
  }

  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = $("num").value.trim();
    if (number === "") {
      say("one-message", problem({ input: "", kind: "format" }, false), true);
      return;
    }
    lookup(number).then(() => $("num").select());
  });

  // ---- many numbers: the table ---------------------------------------------------------------------------

  // Columns of the table and of its CSV. `optional` ones appear only when some answer has that field.
  const COLUMNS = [
    { key: "index", label: "#", sort: (row) => row.index, cell: (row) => String(row.index) },
    { key: "number", label: "Number", cell: (row) => row.number, csv: (row) => row.digits },
    { key: "operator", label: "Operator", sortable: true, cell: (row) => row.operator },
    { key: "oldOperator", label: "Ported from", sortable: true, cell: (row) => row.oldOperator },
    { key: "region", label: "Region", sortable: true, cell: (row) => row.region },
    { key: "locality", label: "Locality", optional: true, cell: (row) => row.locality },
    { key: "country", label: "Country", sortable: true, cell: (row) => row.country },
    { key: "type", label: "Line type", cell: (row) => row.type },
    { key: "timezone", label: "Time zone", optional: true,
      cell: (row) => [row.timezone, row.utcOffset && `UTC${row.utcOffset}`].filter(Boolean).join(", ") },
    { key: "callable", label: "Callable now", optional: true,
      cell: (row) => (row.callable === null ? "" : row.callable ? "yes" : "no") },
  ];
  // The CSV also carries what was pasted, the ISO code and the error, which the table shows otherwise.
  const CSV_EXTRA = [
    { label: "Input", after: "number", value: (row) => row.input },
    { label: "ISO", after: "country", value: (row) => row.iso },
  ];

  let rows = [];
  let columns = [];
  let sorted = { key: "index", direction: 1 };

  function parseList(pasted) {
    return pasted.split(/[\r\n\t,;]+/).map((item) => item.trim()).filter((item) => item !== "");
  }

  async function lookupMany(numbers) {
    document.body.dataset.batch = "busy";
    $("results").setAttribute("aria-busy", "true");
    say("many-message", `Looking up ${plural(numbers.length, "number")}…`, false);
    const [v1, v2] = await Promise.all([postList("get/batch", numbers), postList("get/v2/batch", numbers)]);
    $("results").removeAttribute("aria-busy");
    const failed = v1.failed || v2.failed || batchRefusal(v1) || batchRefusal(v2);
    if (failed) {
      say("many-message", failed, true);
    } else {
      rows = numbers.map((input, i) => ({ ...answerOf(input, v1.body[i], v2.body[i]), index: i + 1 }));
      columns = COLUMNS.filter((column) => !column.optional || rows.some((row) => column.cell(row)));
      sorted = { key: "index", direction: 1 };
      say("many-message", "");
      renderResults();
    }
    document.body.dataset.batch = "done";
  }

  function batchRefusal(result) {
    if (result.status === 413) {
      return `That is more numbers than the service takes at once (${plural(LIMIT, "number")}). Split the list.`;
    }
    if (result.status !== 200 || !Array.isArray(result.body)) {
      return `The service refused the list: ${isObject(result.body) ? text(result.body.info) : result.text}`;
    }
    return "";
  }

  function renderResults() {
    const found = rows.filter((row) => row.kind === "found");
    const ported = found.filter((row) => row.oldOperator).length;
    const errors = rows.length - found.length;
    $("summary").textContent = `${plural(rows.length, "number")}: ${found.length.toLocaleString("en")} found`
      + (ported ? ` (${ported.toLocaleString("en")} ported)` : "")
      + (errors ? `, ${errors.toLocaleString("en")} could not be looked up.` : ".");
    renderTable();
    renderCounts($("per-operator"), found.map((row) => row.operator || "unknown"));
    // Russian numbers by federal subject, others by country (their locations are cities, states, ...).
    renderCounts($("per-region"), found.map((row) => (row.russian ? row.region : row.country) || "unknown"));
    $("results").hidden = false;
  }

  function renderTable() {
    const head = $("table").tHead.rows[0];
    head.replaceChildren(...columns.map((column) => {
      const th = element("th", { scope: "col" });
      if (column.key === "index" || column.sortable) {
        const button = element("button", { type: "button", "data-sort": column.key }, column.label);
        button.addEventListener("click", () => sortBy(column.key));
        th.append(button);
        if (sorted.key === column.key) th.setAttribute("aria-sort", sorted.direction > 0 ? "ascending" : "descending");
      } else {
        th.textContent = column.label;
      }
      return th;
    }));
    const body = $("table").tBodies[0];
    body.replaceChildren(...ordered().map((row) => {
      const tr = element("tr", { "data-index": String(row.index) });
      if (row.kind !== "found") {
        tr.className = "error";
        tr.append(element("td", {}, String(row.index)), element("td", {}, row.input),
          element("td", { colspan: String(columns.length - 2) }, problem(row, true)));
        return tr;
      }
      if (row.oldOperator) tr.className = "ported";
      for (const column of columns) {
        const td = element("td", { "data-column": column.key }, column.cell(row));
        if (column.key === "oldOperator" && row.oldOperator) td.prepend(element("span", { class: "badge" }, "ported"), " ");
        tr.append(td);
      }
      return tr;
    }));
  }

  // Rows in the chosen order; rows without an answer always last, in input order.
  function ordered() {
    const column = COLUMNS.find((c) => c.key === sorted.key);
    const key = column.sort || column.cell;
    const collator = new Intl.Collator("ru", { numeric: true, sensitivity: "base" });
    return [...rows].sort((a, b) => {
      if ((a.kind === "found") !== (b.kind === "found")) return a.kind === "found" ? -1 : 1;
      if (a.kind !== "found") return a.index - b.index;
      const x = key(a);
      const y = key(b);
      const order = typeof x === "number" ? x - y : (x === "") - (y === "") || collator.compare(x, y);
      return order * (x === "" || y === "" ? 1 : sorted.direction) || a.index - b.index;
    });
  }

  function sortBy(key) {
    sorted = { key, direction: sorted.key === key ? -sorted.direction : 1 };
    renderTable();
    $("table").querySelector(`button[data-sort="${key}"]`).focus();
  }

  function renderCounts(table, names) {
    const counts = new Map();
    for (const name of names) counts.set(name, (counts.get(name) || 0) + 1);
    const collator = new Intl.Collator("ru");
    const lines = [...counts].sort((a, b) => b[1] - a[1] || collator.compare(a[0], b[0]));
    table.tBodies[0].replaceChildren(...lines.map(([name, count]) =>
      element("tr", {}, element("td", {}, name), element("td", { class: "count" }, count.toLocaleString("en")))));
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  // ---- the CSV download ----------------------------------------------------------------------------------

  function csvHeader() {
    const header = [];
    for (const column of columns) {
      header.push({ label: column.label, value: (row) => (row.kind === "found" ? (column.csv || column.cell)(row)
        : column.key === "index" ? String(row.index) : "") });
      for (const extra of CSV_EXTRA.filter((e) => e.after === column.key)) header.push(extra);
    }
    header.push({ label: "Error", value: (row) => (row.kind === "found" ? "" : problem(row, true)) });
    return header;
  }

  // RFC 4180 quoting. A cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading '.
  function csvCell(value) {
    let cell = text(value);
    if (/^[=+\-@\t\r]/.test(cell)) cell = "'" + cell;
    return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
  }

  function csvText() {
    const header = csvHeader();
    const lines = [header.map((column) => csvCell(column.label))];
    for (const row of ordered()) lines.push(header.map((column) => csvCell(column.value(row))));
    return lines.map((line) => line.join(",")).join("\r\n") + "\r\n";
  }

  $("csv").addEventListener("click", () => {
    // A byte order mark, so that spreadsheet programs read the Cyrillic names as UTF-8.
    const blob = new Blob(["\ufeff", csvText()], { type: "text/csv;charset=utf-8" });
    const link = element("a", { href: URL.createObjectURL(blob), download: "numlookup.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  });

  $("batch").addEventListener("submit", (event) => {
    event.preventDefault();
    const numbers = parseList($("numbers").value);
    if (numbers.length === 0) {
      say("many-message", "Paste some numbers first, one a line.", true);
    } else if (numbers.length > LIMIT) {
      say("many-message", `That is ${plural(numbers.length, "number")}; the service takes up to `
        + `${LIMIT.toLocaleString("en")} at a time. Split the list.`, true);
    } else {
      lookupMany(numbers);
    }
  });

  $("numbers").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("batch").requestSubmit();
    }
  });

  // ---- the footer: /health -------------------------------------------------------------------------------

  function age(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 1) return "less than a minute";
    if (minutes < 90) return plural(minutes, "minute");
    const hours = Math.round(minutes / 60);
    return hours < 48 ? plural(hours, "hour") : plural(Math.floor(hours / 24), "day");
  }

  function datasetText(dataset) {
    if (!isObject(dataset)) {
      return "No dataset is loaded: Russian numbers are answered from libphonenumber alone.";
    }
    const what = DATASETS[dataset.source] || (dataset.source ? `the ${dataset.source} registry` : "");
    const parts = [];
    if (dataset.published) {
      const old = Number.isFinite(dataset.age_days) ? `, ${plural(dataset.age_days, "day")} old` : "";
      parts.push(`Data: ${what || "the registry"} published ${dataset.published}${old}.`);
    } else if (what) {
      parts.push(`Data: ${what}.`);
    }
    const built = Number.isFinite(dataset.age_seconds) ? `, built ${age(dataset.age_seconds)} ago` : "";
    parts.push(`${parts.length ? "Version" : "Data version"} ${text(dataset.version)}${built}.`);
    if (dataset.stale === true) parts.push("It is stale: update the data (numlookup data update).");
    return parts.join(" ");
  }

  function redisText(redis) {
    if (!isObject(redis) || !redis.configured) return "Redis: not used.";
    return redis.reachable === false ? "Redis: unreachable." : "Redis: connected.";
  }

  function amiText(ami) {
    if (!isObject(ami)) return "AMI: not run by this process.";
    const down = Array.isArray(ami.ami)
      ? ami.ami.filter((server) => isObject(server) && server.state !== "connected")
        .map((server) => `${text(server.server)} ${text(server.state)}`) : [];
    if (ami.ok === false || ami.connected === false) {
      return `AMI: not connected${down.length ? ` (${down.join(", ")})` : ""}.`;
    }
    return "AMI: connected.";
  }

  async function loadHealth() {
    const result = await call("health");
    const footer = $("health");
    if (result.failed || !isObject(result.body)) {
      $("health-data").textContent = "The service's state is unknown: /health did not answer.";
      $("health-redis").textContent = "";
      $("health-ami").textContent = "";
      footer.className = "warn";
    } else {
      const health = result.body;
      $("health-data").textContent = datasetText(health.dataset);
      $("health-redis").textContent = redisText(health.redis);
      $("health-ami").textContent = amiText(health.ami);
      footer.className = health.status === "ok" ? "" : "warn";
      footer.dataset.status = text(health.status);
    }
    document.body.dataset.health = "done";
  }

  // ---- keyboard and start-up -----------------------------------------------------------------------------

  // "/" anywhere but in a text field goes to the number box, as on many search pages.
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      $("num").focus();
    }
  });

  loadHealth();
  setInterval(loadHealth, 60000);
  const initial = new URLSearchParams(location.search).get("num");
  if (initial !== null && initial.trim() !== "") {
    $("num").value = initial;
    lookup(initial.trim());
  }
})();
