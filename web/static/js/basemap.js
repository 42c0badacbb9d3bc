// The base of the site's small maps (a stop's, the door-to-door form's): the configured tiles
// (Tianditu: its roads and land, and its place names over them), the site's own attribution
// (with the base map's review number) in place of Leaflet's, a scale in metres, and the zoom
// buttons named in the page's language. Its settings come from the map element's data-*.
window.taxvanBase = function (map, el) {
  var d = el.dataset;
  map.attributionControl.setPrefix(d.prefix || "");
  L.control.scale({ imperial: false }).addTo(map);
  var box = map.getContainer();
  [[".leaflet-control-zoom-in", d.zoomIn], [".leaflet-control-zoom-out", d.zoomOut]].forEach(
    function (b) {
      var a = box.querySelector(b[0]);
      if (a && b[1]) { a.title = b[1]; a.setAttribute("aria-label", b[1]); }
    });
  if (!d.tiles) return;
  var options = { maxZoom: 18, subdomains: d.subdomains || "abc" };
  L.tileLayer(d.tiles, L.extend({ attribution: d.attribution || "" }, options)).addTo(map);
  if (d.labels) L.tileLayer(d.labels, options).addTo(map);
};
