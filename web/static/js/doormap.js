// The door-to-door form's map: tap to set the point, or type it; works with no tiles at all
// (offline), since the coordinates can be typed or left to the dispatcher.
(function () {
  var el = document.getElementById("doormap");
  var lat = document.getElementById("lat"), lon = document.getElementById("lon");
  if (!el || !window.L || !lat || !lon) return;
  var map = L.map(el, { scrollWheelZoom: false }).setView(
    [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], 11);
  if (window.taxvanBase) window.taxvanBase(map, el);
  var marker = null;
  function show(la, lo) {
    if (isNaN(la) || isNaN(lo)) return;
    if (marker) marker.setLatLng([la, lo]);
    else marker = L.marker([la, lo], { keyboard: false }).addTo(map);
  }
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    show(e.latlng.lat, e.latlng.lng);
  });
  function typed() { show(parseFloat(lat.value), parseFloat(lon.value)); }
  lat.addEventListener("change", typed);
  lon.addEventListener("change", typed);
  typed();
})();
