// The few DOM helpers every part of the page uses. Text goes in as text (textContent), never as HTML: what
// users paste and what the API echoes back cannot inject markup.

export const $ = (id) => document.getElementById(id);

// A sentence in one of the page's message lines; an empty message hides the line.
export function say(id, message, isError) {
  const line = $(id);
  line.textContent = message || "";
  line.hidden = !message;
  line.classList.toggle("error", Boolean(isError));
}

export function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}
