// Many numbers: a pasted column → the batch endpoints → a sortable table, counts, and its CSV.
import { answerOf, isObject, plural, postList, problem, text } from "./answers.js";
import { $, element, say } from "./dom.js";

const LIMIT = Number(document.body.dataset.batchLimit) || 1000;

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
  const send = $("batch").querySelector('button[type="submit"]');
  send.disabled = true;
  document.body.dataset.batch = "busy";
  $("results").setAttribute("aria-busy", "true");
  say("many-message", `Looking up ${plural(numbers.length, "number")}…`, false);
  const [v1, v2] = await Promise.all([postList("get/batch", numbers), postList("get/v2/batch", numbers)]);
  $("results").removeAttribute("aria-busy");
  send.disabled = false;
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
  // Russian numbers by region, others by country (their locations are cities, states, ...).
  const region = (row) => ((row.russian || row.iso === "RU") && row.region) || row.country || "unknown";
  renderCounts($("per-region"), found.map(region));
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

// The CSV: the table in the order it is sorted now.

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

export function startTable() {
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
    if (document.body.dataset.batch === "busy") return; // Ctrl+Enter again while a list is on its way
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
}
