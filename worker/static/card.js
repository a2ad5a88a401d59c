// One number: the answer card, and the raw v1/v2 JSON folded below it.
import { answerOf, call, callableText, localTime, problem } from "./answers.js";
import { $, say } from "./dom.js";

const SOURCES = {
  registry: "the numbering registry",
  mnp: "the MNP database (ported numbers)",
  upstream: "an upstream MNP service",
  cache: "the cache of earlier answers",
};

let card = null;
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
  // a number that may be in several zones (v2 `timezones`): its time above is the main zone's
  setField("zones", row.timezones.length > 1 ? row.timezones.join(", ") : "");
  const callable = setField("callable", row.callable === null ? "" : callableText(row.callable));
  callable.classList.toggle("no", row.callable === false);
  setField("source", source ? SOURCES[source] || source : "");
  card.hidden = false;
}

function showRaw(id, result) {
  $(id + "-status").textContent = result.failed && result.status === undefined ? "no answer"
    : `${result.status} ${result.statusText}`;
  $(id).textContent = result.body === null || result.body === undefined ? result.text || ""
    : JSON.stringify(result.body, null, 2);
  $(id).classList.toggle("error", !(result.status >= 200 && result.status < 300));
}

let lookups = 0; // the latest lookup wins: an earlier one answering late is dropped

export async function lookup(number) {
  const query = "?num=" + encodeURIComponent(number);
  const mine = ++lookups;
  history.replaceState(null, "", query);
  document.title = `${number} · numlookup`;
  document.body.dataset.lookup = "busy";
  card.setAttribute("aria-busy", "true");
  const [v1, v2] = await Promise.all([call("get/" + query), call("get/v2/" + query)]);
  if (mine !== lookups) return;
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

export function startCard() {
  card = $("card");
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = $("num").value.trim();
    if (number === "") {
      say("one-message", problem({ input: "", kind: "format" }, false), true);
      return;
    }
    lookup(number).then(() => $("num").select());
  });
}
