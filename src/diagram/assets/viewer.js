// ordo diagram viewer: draws only the rows on screen (windowed SVG), so a history of
// 10^5 records opens at once. Hand-written, no framework, nothing fetched.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("ordo-data").textContent);
  var N = D.line.length;
  var LEFT = 96, PAD = 30;
  var avail = (document.getElementById("scroller").clientWidth || 1000) - LEFT - 160;
  var LANE_W = Math.max(110, Math.min(190, Math.floor(avail / Math.max(1, D.lanes.length))));
  var rowH = 18;
  var sel = null; // selected violation object
  var wit = new Set(), chain = new Set();
  var filter = { entity: "", part: -1, lane: -1 };
  var vis = [];           // item indices shown, in order
  var rowOf = new Int32Array(N);
  var scroller = document.getElementById("scroller");
  var canvas = document.getElementById("canvas");
  var view = document.getElementById("view");
  var tip = document.getElementById("tip");
  var lanesEl = document.getElementById("lanes");
  var timesEl = document.getElementById("times");

  function laneX(l) { return l < 0 ? LEFT - 14 : LEFT + 24 + l * LANE_W; }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // Lanes (DOM, so they can be read and tested).
  D.lanes.forEach(function (lane, i) {
    var d = document.createElement("div");
    d.className = "lane " + lane.role;
    d.dataset.node = lane.name;
    d.style.left = (laneX(i) - 60) + "px";
    d.innerHTML = "<b>" + esc(lane.name) + "</b><small>" + esc(lane.role) + "</small>";
    lanesEl.appendChild(d);
  });

  // Filters.
  var fEntity = document.getElementById("f-entity");
  var fPart = document.getElementById("f-part");
  var fNode = document.getElementById("f-node");
  var dl = document.getElementById("entities");
  D.entities.forEach(function (e) { var o = document.createElement("option"); o.value = e; dl.appendChild(o); });
  D.partitions.forEach(function (p, i) { var o = document.createElement("option"); o.value = i; o.textContent = p; fPart.appendChild(o); });
  D.lanes.forEach(function (l, i) { var o = document.createElement("option"); o.value = i; o.textContent = l.name; fNode.appendChild(o); });

  var chainOnly = document.getElementById("chain-only");
  function passes(i) {
    if (chainOnly.checked && sel !== null && !chain.has(i) && !wit.has(i)) return false;
    if (filter.lane >= 0 && D.lane[i] !== filter.lane) return false;
    if (filter.part >= 0 && D.part[i] !== filter.part) return false;
    if (filter.entity !== "") {
      var k = D.entities.indexOf(filter.entity);
      if (k < 0 || D.ents[i].indexOf(k) < 0) return false;
    }
    return true;
  }

  function recompute() {
    vis = [];
    for (var i = 0; i < N; i++) {
      if (passes(i)) { rowOf[i] = vis.length; vis.push(i); } else { rowOf[i] = -1; }
    }
    canvas.style.height = (vis.length * rowH + 2 * PAD) + "px";
    document.getElementById("count").textContent = vis.length + " of " + N + " records";
    render();
  }

  function y(row) { return PAD + row * rowH + rowH / 2; }

  function render() {
    var top = scroller.scrollTop, h = scroller.clientHeight || 800;
    var first = Math.max(0, Math.floor((top - PAD) / rowH) - 10);
    var last = Math.min(vis.length - 1, Math.ceil((top + h) / rowH) + 10);
    var y0 = y(first) - rowH, y1 = y(Math.max(last, first)) + rowH;
    var out = [];
    var width = laneX(D.lanes.length) + 200;
    // Fault spans.
    for (var s = 0; s < D.spans.length; s++) {
      var sp = D.spans[s];
      var a = rowOf[sp[1]], b = rowOf[sp[2]];
      if (a < 0 || b < 0 || b < first || a > last) continue;
      out.push('<rect class="fault" x="' + (laneX(sp[0]) - 14) + '" y="' + y(a) + '" width="28" height="' + Math.max(1, (b - a) * rowH) +
        '"><title>' + esc(sp[3]) + "</title></rect>");
    }
    // Arrows whose rows overlap the window.
    var L = D.links;
    for (var k = 0; k < L.length; k += 3) {
      var ra = rowOf[L[k]], rb = rowOf[L[k + 1]];
      if (ra < 0 || rb < 0) continue;
      if (Math.max(ra, rb) < first || Math.min(ra, rb) > last) continue;
      var kind = D.link_kinds[L[k + 2]];
      var on = wit.has(L[k]) && wit.has(L[k + 1]) ? " hl" : (chain.has(L[k]) && chain.has(L[k + 1]) ? " ch" : "");
      out.push('<line class="link ' + kind + on + '" x1="' + laneX(D.lane[L[k]]) + '" y1="' + y(ra) + '" x2="' + laneX(D.lane[L[k + 1]]) +
        '" y2="' + (y(rb) - (rb > ra ? 4 : 0)) + '" marker-end="url(#arr)"/>');
    }
    var labels = rowH >= 11;
    for (var r = first; r <= last; r++) {
      var i = vis[r];
      var x = laneX(D.lane[i]), yy = y(r);
      var cls = "rec t-" + D.tys[D.ty[i]] + (wit.has(i) ? " wit" : "") + (chain.has(i) ? " chain" : "");
      var shape = D.tys[D.ty[i]] === "commit"
        ? '<rect x="' + (x - 4) + '" y="' + (yy - 4) + '" width="9" height="9" transform="rotate(45 ' + x + " " + yy + ')"/>'
        : '<circle cx="' + x + '" cy="' + yy + '" r="' + Math.min(5, Math.max(2, rowH / 3)) + '"/>';
      out.push('<g class="' + cls + '" data-line="' + D.line[i] + '" data-i="' + i + '">' + shape +
        (labels || ((wit.has(i) || chain.has(i)) && rowH >= 8) ? '<text x="' + (x + 9) + '" y="' + (yy + 4) + '">' + esc(D.label[i]) + "</text>" : "") + "</g>");
    }
    view.setAttribute("width", width);
    view.setAttribute("height", vis.length * rowH + 2 * PAD);
    view.innerHTML = '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>' +
      D.lanes.map(function (l, i) { return '<line class="laneline" x1="' + laneX(i) + '" y1="' + y0 + '" x2="' + laneX(i) + '" y2="' + y1 + '"/>'; }).join("") +
      out.join("");
    // Times beside the rows.
    var t = [], prev = "";
    for (var q = first; q <= last; q++) {
      var ms = D.ms[vis[q]];
      if (ms !== prev && (labels || q % 5 === 0)) { t.push('<div style="top:' + (y(q) - 7) + 'px">' + ms + "</div>"); prev = ms; }
    }
    timesEl.innerHTML = t.join("");
    timesEl.style.height = canvas.style.height;
    view.classList.toggle("focus", sel !== null);
  }

  // Hover: the record's history line and words.
  view.addEventListener("mouseover", function (e) {
    var g = e.target.closest ? e.target.closest("g.rec") : null;
    if (!g) { tip.style.display = "none"; return; }
    var i = +g.dataset.i;
    tip.textContent = "line " + D.line[i] + " · " + D.ms[i] + " ms · " + D.who[i] + " · " + D.words[i];
    tip.style.display = "block";
    tip.style.left = (e.clientX + 12) + "px";
    tip.style.top = (e.clientY + 12) + "px";
  });
  view.addEventListener("mouseleave", function () { tip.style.display = "none"; });

  // Violations list.
  var itemOfLine = new Map();
  for (var i = 0; i < N; i++) itemOfLine.set(D.line[i], i);
  var list = document.getElementById("violations");
  D.violations.forEach(function (v) {
    var b = document.createElement("button");
    b.className = "viol";
    b.dataset.n = v.n;
    b.innerHTML = "<b>" + v.n + ".</b> " + esc(v.title);
    b.title = v.sentence;
    b.addEventListener("click", function () { select(v.n); });
    list.appendChild(b);
  });
  if (D.violations_total > D.violations.length) {
    var more = document.createElement("p");
    more.textContent = "… " + (D.violations_total - D.violations.length) + " more: ordo trace --violation N";
    list.appendChild(more);
  }

  function select(n, auto) {
    var v = null;
    D.violations.forEach(function (x) { if (x.n === n) v = x; });
    Array.prototype.forEach.call(document.querySelectorAll("button.viol"), function (b) { b.classList.toggle("active", +b.dataset.n === n); });
    sel = v;
    wit = new Set(); chain = new Set();
    if (!v) { document.getElementById("story").textContent = ""; recompute(); return; }
    v.witness.forEach(function (l) { if (itemOfLine.has(l)) wit.add(itemOfLine.get(l)); });
    v.chain.forEach(function (l) { if (itemOfLine.has(l)) chain.add(itemOfLine.get(l)); });
    document.getElementById("story").textContent = v.n + ". " + v.title + " — " + v.sentence;
    // Show everything (or the chain only), then zoom to the chain.
    filter = { entity: "", part: -1, lane: -1 };
    fEntity.value = ""; fPart.value = "-1"; fNode.value = "-1";
    recompute();
    var rows = chainRows();
    // A chain spread over more rows than fit at a readable size is shown alone.
    if (rows.length && auto !== false && !chainOnly.checked &&
        (Math.max.apply(null, rows) - Math.min.apply(null, rows) + 1) * 8 > scroller.clientHeight - 2 * PAD) {
      chainOnly.checked = true;
      recompute();
      rows = chainRows();
    }
    if (rows.length) {
      var lo = Math.min.apply(null, rows), hi = Math.max.apply(null, rows);
      var fit = Math.floor((scroller.clientHeight - 2 * PAD) / Math.max(1, hi - lo + 1));
      rowH = Math.max(4, Math.min(22, fit));
      recompute();
      scroller.scrollTop = Math.max(0, PAD + lo * rowH - 20);
      render();
    }
  }

  function chainRows() {
    var rows = [];
    chain.forEach(function (i) { if (rowOf[i] >= 0) rows.push(rowOf[i]); });
    wit.forEach(function (i) { if (rowOf[i] >= 0) rows.push(rowOf[i]); });
    return rows;
  }

  function zoom(f) {
    var mid = (scroller.scrollTop + scroller.clientHeight / 2 - PAD) / rowH;
    rowH = Math.max(2, Math.min(40, rowH * f));
    recompute();
    scroller.scrollTop = Math.max(0, PAD + mid * rowH - scroller.clientHeight / 2);
    render();
  }

  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.5); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1 / 1.5); });
  document.getElementById("clear").addEventListener("click", function () { select(-1); });
  scroller.addEventListener("wheel", function (e) {
    if (e.ctrlKey) { e.preventDefault(); zoom(e.deltaY < 0 ? 1.25 : 0.8); }
  }, { passive: false });
  var pending = false;
  scroller.addEventListener("scroll", function () {
    lanesEl.style.transform = "translateX(" + (-scroller.scrollLeft) + "px)";
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(); });
  });
  window.addEventListener("resize", render);
  chainOnly.addEventListener("change", function () { if (sel) select(sel.n, false); else recompute(); });
  fEntity.addEventListener("change", function () { filter.entity = fEntity.value.trim(); recompute(); });
  fPart.addEventListener("change", function () { filter.part = +fPart.value; recompute(); });
  fNode.addEventListener("change", function () { filter.lane = +fNode.value; recompute(); });

  // For people at the console and for the browser test.
  window.ordoViewer = {
    lanes: function () { return D.lanes.map(function (l) { return l.name; }); },
    select: select,
    highlighted: function () {
      return Array.prototype.map.call(document.querySelectorAll("#view g.rec.wit"), function (g) { return +g.dataset.line; });
    },
    records: function () { return N; }
  };
  recompute();
  if (D.focus > 0) select(D.focus);
})();
