// The stop's small map, drawn with the Leaflet files the app serves itself.
(function () {
  var el = document.getElementById("stopmap");
  if (!el || !window.L) return;
  var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
  var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 14);
  if (window.taxvanBase) window.taxvanBase(map, el);
  L.circleMarker([lat, lon], { radius: 9, color: "#b3261e", weight: 3, fillOpacity: 0.6 }).addTo(map);
})();
