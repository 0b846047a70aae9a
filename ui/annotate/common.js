// Shared by boxes.js and spans.js (ui/annotate/__init__.py puts it in front of each): elements, the class
// colours, the class picker or the labellers' legend, the state kept across reruns, and which key presses
// belong to the editor.
const SVG_TAGS = new Set(["svg", "rect", "g", "text"]);
const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#f032e6", "#9a6324", "#800000"];

function el(tag, attrs, parent) {
  const node = SVG_TAGS.has(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function colourOfClass(labels) {
  return (label) => COLOURS[Math.max(0, labels.indexOf(label)) % COLOURS.length];
}

// The editor's state: kept on the element across reruns of the same item (the function runs again on each
// render), made afresh by `fresh()` for another item or starting value (another token).
function keptState(parentElement, token, fresh) {
  const kept = parentElement.__annotState;
  const state = kept && kept.token === token ? kept : { token, ...fresh() };
  parentElement.__annotState = state;
  return state;
}

// At the top of `root`: the class picker with its keys (an editor) or the labellers' legend (read-only).
// Returns the picker (null when read-only).
function header(root, data, colourOf, choose, hint) {
  if (data.readonly) {
    if (data.layers && data.layers.length) {
      const legend = el("div", { class: "annot-legend" }, root);
      data.layers.forEach((layer) => {
        const key = el("span", { class: "annot-key" }, legend);
        key.style.borderColor = layer.colour;
        key.textContent = layer.name;
      });
    }
    return null;
  }
  const picker = el("div", { class: "annot-picker", role: "toolbar" }, root);
  (data.labels || []).forEach((label, i) => {
    const button = el("button", { type: "button", class: "annot-class", "data-label": label }, picker);
    button.textContent = (i < 9 ? `${i + 1} ` : "") + label;
    button.style.borderColor = colourOf(label);
    button.addEventListener("click", () => choose(label));
  });
  el("span", { class: "annot-hint" }, picker).textContent = hint;
  return picker;
}

function markChosen(picker, current) {
  if (picker) picker.querySelectorAll(".annot-class").forEach((b) => b.classList.toggle("active", b.getAttribute("data-label") === current));
}

// Keys go to one editor of a page (the Review page has one per card): the one last pressed with the mouse,
// else the first on the page.
function claimKeys(root) {
  if (root.getAttribute("data-editor") === "true") return; // the same element, drawn again
  root.setAttribute("data-editor", "true");
  root.addEventListener("mousedown", () => { window.__annotKeys = root; });
}

// The editor's keys: `handle(event)` says whether it used the key. A key is for this editor when it has the
// keys and the key was not typed into a field nor held with Ctrl/Alt/Meta (browser shortcuts). Heard on the
// window before the page sees it (capture) and stopped there when used: Streamlit's shortcut keys listen on the
// document and would otherwise hear it first. Keys it leaves (Enter: submit, S, U, ...) go on to the page.
// Returns the function that stops listening.
function editorKeys(root, readonly, handle) {
  function onKey(event) {
    const target = event.target;
    if (readonly || !root.isConnected || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    const owner = window.__annotKeys && window.__annotKeys.isConnected ? window.__annotKeys : document.querySelector("[data-editor='true']");
    if (owner === root && handle(event)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}

// Span offsets: the server counts characters (Python's code points), the browser's strings count UTF-16
// units (an emoji is one character but two units). Returns the two conversions for one text.
function spanOffsets(text) {
  const units = [0]; // units[i]: the UTF-16 offset where character i starts
  for (const ch of text) units.push(units[units.length - 1] + ch.length);
  const toUnit = (point) => (point >= 0 && point < units.length ? units[point] : point);
  const toPoint = (unit) => { // the character starting at or before `unit` (a unit inside a pair rounds down)
    let low = 0, high = units.length - 1;
    if (unit < 0 || unit > units[high]) return unit;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (units[mid] <= unit) low = mid; else high = mid - 1;
    }
    return low;
  };
  return {
    toUnits: (s) => ({ ...s, start: toUnit(s.start), end: toUnit(s.end) }),
    toPoints: (s) => ({ ...s, start: toPoint(s.start), end: toPoint(s.end) }),
  };
}
