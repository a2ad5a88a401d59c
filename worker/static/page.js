// The lookup page: one number as a card, many numbers as a table, the service's state in the footer.
// Plain JavaScript modules, no libraries and no build step; they ask only the API they were served by
// (relative URLs), so the page works behind a proxy under any path. Fields other numlookup versions may lack
// (locality, timezone, callable_now, the X-Numlookup-Source header, the dataset's source and publication)
// are shown when an answer has them and hidden when it does not.
import { lookup, startCard } from "./card.js";
import { $ } from "./dom.js";
import { startFooter } from "./footer.js";
import { startTable } from "./table.js";

// "/" anywhere but in a text field goes to the number box, as on many search pages.
document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    $("num").focus();
  }
});

startCard();
startTable();
startFooter();
const initial = new URLSearchParams(location.search).get("num");
if (initial !== null && initial.trim() !== "") {
  $("num").value = initial;
  lookup(initial.trim());
}
