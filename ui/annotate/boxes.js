// Bounding boxes on an image: draw with the mouse, move, resize (corner handles), Delete/Backspace removes the
// selected box, keys 1-9 choose the class (of the selected box and of the next ones).
// data: {src, labels, value: {width, height, boxes}, token, readonly, layers: [{name, colour, value}]}
// State "value": the Boxes JSON ({width, height, boxes: [{x, y, w, h, label}]}) in the image's natural pixels,
// sent after each edit (and once the image loads when the server could not tell its size).
const MIN_PIXELS = 3; // a drag shorter than this on screen is a click, not a box
const HANDLE = 8;

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const labels = data.labels || [];
  const colourOf = colourOfClass(labels);
  const state = keptState(parentElement, data.token, () => ({
    value: JSON.parse(JSON.stringify(data.value || { width: 0, height: 0, boxes: [] })),
    selected: null,
    current: labels[0],
  }));
  const root = parentElement.querySelector(".annot-boxes") || el("div", { class: "annot-boxes" }, parentElement);
  root.innerHTML = "";
  root.setAttribute("data-readonly", data.readonly ? "true" : "false");
  if (!data.readonly) claimKeys(root);

  const picker = header(root, data, colourOf, (label) => choose(label),
    "Drag to draw · drag a box to move it, a corner to resize · keys 1-9: class · Delete: remove the selected box");
  const stage = el("div", { class: "annot-stage" }, root);
  const img = el("img", { src: data.src, alt: "the item's image", draggable: "false" }, stage);
  const svg = el("svg", { class: "annot-svg" }, stage);

  // Screen pixels per natural pixel, from the width the image is laid out at: a fraction when it is shrunk
  // (clientWidth rounds it to a whole pixel, which put points up to half an image pixel off across the image).
  function shownSize() {
    const r = img.getBoundingClientRect();
    return { width: r.width, height: r.height };
  }
  function scale() {
    const width = shownSize().width;
    return width && state.value.width ? width / state.value.width : 1;
  }
  const round = (v) => Math.round(v * 100) / 100;
  function send() {
    if (data.readonly) return;
    // two decimals, still inside the image
    state.value.boxes.forEach((b) => {
      b.x = round(b.x); b.y = round(b.y);
      b.w = Math.min(round(b.w), round(state.value.width - b.x)); b.h = Math.min(round(b.h), round(state.value.height - b.y));
    });
    setStateValue("value", state.value);
  }
  function choose(label) {
    state.current = label;
    const box = state.selected === null ? null : state.value.boxes[state.selected];
    if (box && box.label !== label) {
      box.label = label;
      send();
    }
    render();
  }

  function drawBox(box, colour, index, layerName, layer) {
    const s = scale();
    const g = el("g", { class: "annot-box", "data-index": index === null ? "" : String(index) }, svg);
    const rect = el("rect", { x: box.x * s, y: box.y * s, width: box.w * s, height: box.h * s, stroke: colour, fill: colour, "fill-opacity": "0.12", "stroke-width": index === state.selected && !data.readonly ? 3 : 2 }, g);
    rect.setAttribute("data-label", box.label);
    const tag = el("text", { x: box.x * s + 3, y: Math.max(12, box.y * s - 4) + 13 * (layer || 0), fill: colour, class: "annot-tag" }, g);
    tag.textContent = layerName ? `${layerName}: ${box.label}` : box.label;
    if (index !== null && index === state.selected && !data.readonly) {
      for (const [cx, cy, corner] of [[box.x, box.y, "nw"], [box.x + box.w, box.y, "ne"], [box.x, box.y + box.h, "sw"], [box.x + box.w, box.y + box.h, "se"]]) {
        el("rect", { class: `annot-handle ${corner}`, "data-corner": corner, x: cx * s - HANDLE / 2, y: cy * s - HANDLE / 2, width: HANDLE, height: HANDLE, fill: "#fff", stroke: colour }, g);
      }
    }
  }

  function render() {
    const size = shownSize();
    svg.setAttribute("width", size.width);
    svg.setAttribute("height", size.height);
    svg.innerHTML = "";
    if (data.readonly && data.layers) {
      data.layers.forEach((layer, k) => (layer.value.boxes || []).forEach((box) => drawBox(scaled(box, layer.value), layer.colour, null, layer.name, k)));
    } else {
      // the selected box last, over the others: its handles stay within reach where boxes overlap
      const order = state.value.boxes.map((box, i) => i).filter((i) => i !== state.selected);
      if (state.selected !== null) order.push(state.selected);
      order.forEach((i) => drawBox(state.value.boxes[i], colourOf(state.value.boxes[i].label), i, null));
    }
    markChosen(picker, state.current);
  }
  // A layer drawn on an image of another size (read-only) is scaled to this one.
  function scaled(box, value) {
    const k = value.width && state.value.width ? state.value.width / value.width : 1;
    return { x: box.x * k, y: box.y * k, w: box.w * k, h: box.h * k, label: box.label };
  }

  function onLoad() {
    const w = img.naturalWidth, h = img.naturalHeight;
    if (state.value.width !== w || state.value.height !== h) {
      // A starting point given for another size of the image is scaled to the one shown.
      const kx = state.value.width ? w / state.value.width : 1, ky = state.value.height ? h / state.value.height : 1;
      state.value = { width: w, height: h, boxes: state.value.boxes.map((b) => ({ x: b.x * kx, y: b.y * ky, w: b.w * kx, h: b.h * ky, label: b.label })) };
      send();
    }
    root.setAttribute("data-ready", "true");
    render();
  }
  if (img.complete && img.naturalWidth) onLoad(); else img.addEventListener("load", onLoad);

  // Mouse: draw, move, resize. Coordinates are kept in natural pixels, clamped to the image.
  let drag = null;
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  function point(event) {
    const r = svg.getBoundingClientRect(), s = scale();
    return { x: clamp((event.clientX - r.left) / s, state.value.width), y: clamp((event.clientY - r.top) / s, state.value.height) };
  }
  function onDown(event) {
    if (data.readonly || event.button !== 0) return;
    event.preventDefault();
    const p = point(event);
    const corner = event.target.getAttribute && event.target.getAttribute("data-corner");
    const group = event.target.closest && event.target.closest(".annot-box");
    if (corner && state.selected !== null) {
      const b = state.value.boxes[state.selected];
      // the corner opposite the one grabbed stays put; the one grabbed moves as the mouse does from here (the
      // press lands a few pixels off its centre: a corner put under the mouse would jump by that much)
      const fixed = { x: corner.includes("w") ? b.x + b.w : b.x, y: corner.includes("n") ? b.y + b.h : b.y };
      const moving = { x: corner.includes("w") ? b.x : b.x + b.w, y: corner.includes("n") ? b.y : b.y + b.h };
      drag = { kind: "resize", fixed, moving, start: p };
    } else if (group && group.getAttribute("data-index") !== "") {
      state.selected = Number(group.getAttribute("data-index"));
      const b = state.value.boxes[state.selected];
      state.current = b.label;
      drag = { kind: "move", start: p, origin: { x: b.x, y: b.y } };
    } else {
      state.selected = null;
      drag = { kind: "draw", fixed: p, moving: p, start: p, screen: { x: event.clientX, y: event.clientY } };
    }
    drag.changed = false;
    render();
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
  }
  function onMove(event) {
    if (!drag) return;
    const p = point(event);
    if (drag.kind === "move") {
      const b = state.value.boxes[state.selected];
      b.x = clamp(drag.origin.x + p.x - drag.start.x, state.value.width - b.w);
      b.y = clamp(drag.origin.y + p.y - drag.start.y, state.value.height - b.h);
      drag.changed = true;
    } else {
      if (drag.kind === "draw") {
        if (Math.abs(event.clientX - drag.screen.x) < MIN_PIXELS && Math.abs(event.clientY - drag.screen.y) < MIN_PIXELS) return;
        state.value.boxes.push({ x: p.x, y: p.y, w: 0, h: 0, label: state.current });
        state.selected = state.value.boxes.length - 1;
        drag.kind = "resize";
      }
      const b = state.value.boxes[state.selected];
      const q = { x: clamp(drag.moving.x + p.x - drag.start.x, state.value.width), y: clamp(drag.moving.y + p.y - drag.start.y, state.value.height) };
      b.x = Math.min(drag.fixed.x, q.x); b.y = Math.min(drag.fixed.y, q.y);
      b.w = Math.abs(q.x - drag.fixed.x); b.h = Math.abs(q.y - drag.fixed.y);
      drag.changed = true;
    }
    render();
  }
  function onUp() {
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    if (drag && drag.changed) {
      const b = state.value.boxes[state.selected];
      if (b.w <= 0 || b.h <= 0) {
        state.value.boxes.splice(state.selected, 1);
        state.selected = null;
      }
      send();
    }
    drag = null;
    render();
  }
  function onKey(event) {
    if ((event.key === "Delete" || event.key === "Backspace") && state.selected !== null) {
      state.value.boxes.splice(state.selected, 1);
      state.selected = null;
      send();
      render();
    } else if (/^[1-9]$/.test(event.key) && Number(event.key) <= labels.length) {
      choose(labels[Number(event.key) - 1]);
    } else if (event.key === "Escape" && state.selected !== null) {
      state.selected = null;
      render();
    } else {
      return false;
    }
    return true;
  }
  svg.addEventListener("mousedown", onDown);
  const keys = editorKeys(root, data.readonly, onKey);
  const resize = new ResizeObserver(() => render());
  resize.observe(img);
  return () => {
    keys();
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    resize.disconnect();
  };
}
