// Spans in a text: select a stretch with the mouse to mark it (it gets the current class and is selected); a
// click on a marked span selects it (again on the same place: the next span out, where spans overlap; a click on
// a class tag: that span). Keys 1-9 choose the class (of the selected span and of the next ones), Delete or
// Backspace (or the selected span's "×") removes the selected span, Escape lets go of it.
// data: {text, labels, value: {spans}, token, overlapping, readonly, layers: [{name, colour, value}]}
// State "value": the Spans JSON ({spans: [{start, end, label}]}), character offsets, end exclusive. The
// offsets in and out are characters (code points, as Python counts them); inside, UTF-16 units as JS strings.
const BAND = 4; // pixels of underline per labeller in the read-only view
const order = (a, b) => a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const labels = data.labels || [];
  const text = data.text || "";
  const colourOf = colourOfClass(labels);
  const offsets = spanOffsets(text);
  const inUnits = (value) => ({ spans: ((value && value.spans) || []).map(offsets.toUnits) });
  const state = keptState(parentElement, data.token, () => ({
    value: inUnits(data.value),
    selected: null,
    current: labels[0],
  }));
  const root = parentElement.querySelector(".annot-spans") || el("div", { class: "annot-spans" }, parentElement);
  root.innerHTML = "";
  if (!data.readonly) claimKeys(root);
  const picker = header(root, data, colourOf, (label) => choose(label),
    "Select text to mark it · click a span to select it · keys 1-9: class · Delete or ×: remove the selected span · Esc: let go");
  const body = el("div", { class: "annot-text" }, root);
  const message = data.readonly ? null : el("div", { class: "annot-message", role: "status" }, root);

  function send() {
    state.value.spans.sort(order);
    setStateValue("value", { spans: state.value.spans.map(offsets.toPoints) });
  }
  function choose(label) {
    state.current = label;
    const span = state.selected;
    if (span && span.label !== label) {
      if (state.value.spans.some((s) => s !== span && s.start === span.start && s.end === span.end && s.label === label)) {
        say(`“${text.slice(span.start, span.end)}” is marked ${label} already.`);
      } else {
        span.label = label;
        say("");
        send();
      }
    }
    render();
  }
  function select(span) {
    state.selected = span;
    if (span) state.current = span.label;
    say("");
    render();
  }
  function remove(span) {
    state.value.spans.splice(state.value.spans.indexOf(span), 1);
    send();
    select(null);
  }
  // Segments between every span boundary; each carries its start offset, and the spans (or labellers) over it.
  function render() {
    body.innerHTML = "";
    const layers = data.readonly
      ? (data.layers || []).map((layer) => ({ ...layer, value: inUnits(layer.value) }))
      : [{ name: "", colour: null, value: state.value }];
    const cuts = new Set([0, text.length]);
    layers.forEach((layer) => (layer.value.spans || []).forEach((s) => { cuts.add(s.start); cuts.add(s.end); }));
    const points = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const start = points[i], end = points[i + 1];
      const seg = el("span", { class: "annot-seg", "data-start": String(start) }, body);
      seg.textContent = text.slice(start, end);
      if (data.readonly) {
        const shadows = [];
        layers.forEach((layer, k) => {
          const over = (layer.value.spans || []).filter((s) => s.start <= start && s.end >= end);
          shadows.push(`inset 0 -${BAND * (k + 1)}px 0 ${over.length ? layer.colour : "transparent"}`);
          if (over.length) seg.title = (seg.title ? seg.title + "\n" : "") + `${layer.name}: ${over.map((s) => s.label).join(", ")}`;
        });
        // transparent bands would let a deeper band show through: paint from the deepest up, gaps white
        seg.style.boxShadow = shadows.map((s) => s.replace("transparent", "var(--annot-bg, #fff)")).join(", ");
        seg.style.paddingBottom = `${BAND * layers.length}px`;
      } else {
        const over = state.value.spans.filter((s) => s.start <= start && s.end >= end);
        if (over.length) {
          const top = over[over.length - 1];
          seg.classList.add("annot-marked");
          seg.style.background = colourOf(top.label) + "33";
          seg.style.borderBottom = `2px solid ${colourOf(top.label)}`;
          seg.title = over.map((s) => s.label).join(", ") + " (click to select)";
          if (over.includes(state.selected)) {
            seg.classList.add("annot-selected");
            seg.style.setProperty("--annot-colour", colourOf(state.selected.label));
          }
        }
      }
      // the class tags of spans ending here (not part of the text: no offsets)
      layers.forEach((layer) => (layer.value.spans || []).filter((s) => s.end === end).forEach((s) => {
        const tag = el("span", { class: "annot-tag", "data-label": s.label, "data-start": String(s.start), "data-end": String(s.end) }, body);
        tag.textContent = data.readonly ? `${layer.name}: ${s.label}` : s.label;
        tag.style.color = layer.colour || colourOf(s.label);
        if (!data.readonly && s === state.selected) {
          tag.classList.add("selected");
          const cross = el("button", { type: "button", class: "annot-remove", title: "Remove this span", "aria-label": `Remove the span ${s.label}` }, tag);
          cross.textContent = "×";
        }
      }));
    }
    markChosen(picker, state.current);
    root.setAttribute("data-ready", "true");
  }

  function offset(node, within) {
    const seg = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (!seg || !seg.classList || !seg.classList.contains("annot-seg")) return null;
    return Number(seg.getAttribute("data-start")) + (node.nodeType === Node.TEXT_NODE ? within : 0);
  }
  function say(words) {
    if (message) message.textContent = words;
  }
  // A press and release on the text: a stretch selected becomes a span; a click on a span selects it.
  function onUp(event) {
    if (data.readonly || event.target.closest(".annot-tag")) return; // tags and their × answer to clicks
    const selection = window.getSelection();
    const range = selection && selection.rangeCount ? selection.getRangeAt(0) : null;
    if (range && !range.collapsed && body.contains(range.startContainer) && body.contains(range.endContainer)) {
      mark(range);
      selection.removeAllRanges();
      return;
    }
    // a click: the innermost span under it, or when that one is selected already the next one out; none off spans
    const seg = event.target.closest(".annot-seg");
    const at = seg ? Number(seg.getAttribute("data-start")) : -1;
    const under = state.value.spans.filter((s) => s.start <= at && s.end > at).sort((a, b) => (a.end - a.start) - (b.end - b.start));
    select(under.length ? under[(under.indexOf(state.selected) + 1) % under.length] : null);
  }
  function onClick(event) {
    if (data.readonly) return;
    const tag = event.target.closest(".annot-tag");
    if (!tag) return;
    const span = state.value.spans.find((s) => s.start === Number(tag.getAttribute("data-start")) && s.end === Number(tag.getAttribute("data-end")) && s.label === tag.getAttribute("data-label"));
    if (event.target.closest(".annot-remove")) remove(span);
    else select(span);
  }
  function mark(range) {
    let start = offset(range.startContainer, range.startOffset), end = offset(range.endContainer, range.endOffset);
    if (start === null || end === null) return;
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (start >= end) return;
    const clash = state.value.spans.find((s) => s.start < end && start < s.end);
    if (clash && !data.overlapping) {
      say(`That overlaps “${text.slice(clash.start, clash.end)}” (${clash.label}); this project does not allow overlapping spans.`);
      render();
      return;
    }
    let span = state.value.spans.find((s) => s.start === start && s.end === end && s.label === state.current);
    if (!span) { // else marked so already
      span = { start, end, label: state.current };
      state.value.spans.push(span);
      send();
    }
    select(span);
  }
  function onKey(event) {
    if (/^[1-9]$/.test(event.key) && Number(event.key) <= labels.length) {
      choose(labels[Number(event.key) - 1]);
    } else if ((event.key === "Delete" || event.key === "Backspace") && state.selected) {
      remove(state.selected);
    } else if (event.key === "Escape" && state.selected) {
      select(null);
    } else {
      return false;
    }
    return true;
  }
  render();
  body.addEventListener("mouseup", onUp);
  body.addEventListener("click", onClick);
  return editorKeys(root, data.readonly, onKey);
}
