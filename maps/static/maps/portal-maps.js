/* Layers of the portal's folium maps (see maps/elements.py). No dependencies beyond Leaflet
 * and, for clustered facilities, Leaflet.markercluster. Data arrive as GeoJSON (EPSG:4326)
 * built in PostGIS; every text is escaped before it enters a popup. */
(function (window) {
  "use strict";

  var registry = {};

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function entry(map) {
    var id = map.getContainer().id;
    registry[id] = registry[id] || {map: map, layers: {}};
    return registry[id];
  }

  function url(template, id) {
    return template ? template.replace("__id__", encodeURIComponent(id)) : null;
  }

  function row(label, value) {
    if (value === null || value === undefined || value === "") { return ""; }
    return "<dt>" + esc(label) + "</dt><dd>" + esc(value) + "</dd>";
  }

  function link(href, text, cls) {
    return href ? '<a class="' + (cls || "") + '" href="' + esc(href) + '">' + esc(text) + "</a>" : "";
  }

  /* Facilities as keyboard-focusable div markers, fill = status, ring = kind; clustered if asked. */
  function facilityLayer(map, o) {
    var labels = o.labels, markers = {};
    if (o.cluster && L.MarkerCluster) {
      // Panning to a focused marker re-clusters and removes the focused element, which loses
      // keyboard focus; clusters and markers therefore do not pan on focus.
      L.MarkerCluster.mergeOptions({autoPanOnFocus: false});
    }
    var group = o.cluster && L.markerClusterGroup
      ? L.markerClusterGroup({disableClusteringAtZoom: 9, showCoverageOnHover: false, maxClusterRadius: 45})
      : L.featureGroup();
    function popup(f, status) {
      var p = f.properties, name = p["name_" + o.lang] || p.name_en;
      var html = '<div class="map-popup facility-popup" data-facility="' + esc(f.id) + '"><strong>' + esc(name) + "</strong><dl>";
      html += row(labels.fields.kind, labels.kinds[p.kind_id] || p.kind_id);
      html += row(labels.fields.region, labels.regions[p.region__kato] || p.region__kato);
      html += row(labels.fields.status, labels.statuses[status] || status);
      html += row(labels.fields.planned, p.planned_year);
      html += row(labels.fields.opened, (o.opened || {})[f.id] || labels.fields.not_opened);
      html += row(labels.fields.places, p.places);
      html += "</dl>";
      if (p.is_demo) { html += '<p class="badge demo">' + esc(labels.fields.demo) + "</p>"; }
      html += '<p class="popup-links">' + link(url(o.detailUrl, f.id), labels.fields.details, "details") + " " +
        link(url(o.shareUrl, f.id), labels.fields.share, "share") + "</p></div>";
      return html;
    }
    L.geoJSON(o.data, {
      pointToLayer: function (f, latlng) {
        var p = f.properties, status = o.statuses[f.id] || "planned";
        var name = p["name_" + o.lang] || p.name_en;
        var icon = L.divIcon({
          className: "facility-marker status-" + status + " kind-" + p.kind_id,
          html: '<span style="background:' + esc(o.statusColors[status] || "#777") +
            ";border-color:" + esc(o.kindColors[p.kind_id] || "#333") + '"></span>',
          iconSize: [20, 20]
        });
        var marker = L.marker(latlng, {icon: icon, title: name, keyboard: true, riseOnHover: true, autoPanOnFocus: !o.cluster});
        marker.bindPopup(popup(f, status));
        markers[f.id] = marker;
        return marker;
      }
    }).eachLayer(function (layer) { group.addLayer(layer); });
    group.addTo(map);
    var e = entry(map);
    e.layers.facilities = group;
    e.markers = markers;
    map.getContainer().setAttribute("data-facility-count", Object.keys(markers).length);
    if (o.focus !== null && o.focus !== undefined && markers[o.focus]) {
      var m = markers[o.focus];
      var open = function () { map.setView(m.getLatLng(), Math.max(map.getZoom(), 11)); m.openPopup(); };
      if (group.zoomToShowLayer) { map.setView(m.getLatLng(), 11); group.zoomToShowLayer(m, open); } else { open(); }
    }
    return group;
  }

  /* Any GeoJSON layer: colour by a property, popup from a list of [property, label, value labels]. */
  function featureLayer(map, o) {
    var base = o.style || {};
    var layer = L.geoJSON(o.data, {
      /* Points are circles (radius from style.radius, px): no marker images needed. */
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {radius: base.radius || 6}); },
      style: function (f) {
        var s = Object.assign({}, base);
        if (o.colorBy) {
          var c = (o.colors || {})[f.properties[o.colorBy]] || o.fallbackColor || "#777";
          s.color = c;
          s.fillColor = c;
        }
        return s;
      },
      onEachFeature: function (f, lyr) {
        if (!o.popupFields && !o.title) { return; }
        var p = f.properties;
        var title = o.title ? (p[o.title + "_" + o.lang] || p[o.title] || "") : "";
        var html = '<div class="map-popup ' + esc(o.className || "") + '">' + (title ? "<strong>" + esc(title) + "</strong>" : "") + "<dl>";
        (o.popupFields || []).forEach(function (field) {
          var v = p[field[0]];
          html += row(field[1], field[2] && field[2][v] !== undefined ? field[2][v] : v);
        });
        html += "</dl>";
        /* o.links: [[URL template with __id__, property holding the id (null: the feature id), label]];
           o.urlTemplate / o.urlProp / o.urlLabel: the same for a single link. */
        var specs = (o.links || []).slice();
        if (o.urlTemplate) { specs.push([o.urlTemplate, o.urlProp || null, o.urlLabel || "→"]); }
        var links = specs.map(function (l) {
          var id = l[1] ? p[l[1]] : f.id;
          return id === null || id === undefined ? "" : link(url(l[0], id), l[2], "details");
        }).filter(Boolean);
        if (links.length) { html += '<p class="popup-links">' + links.join(" · ") + "</p>"; }
        lyr.bindPopup(html + "</div>");
        if (title) { lyr.bindTooltip(esc(title), {sticky: true}); }
      }
    });
    layer.addTo(map);
    entry(map).layers[o.key || o.className || L.stamp(layer)] = layer;
    return layer;
  }

  /* Regions filled by one of several metrics (null = no data, grey); setMetric switches without reload.
   * o.breaks[metric] are the upper bounds of the classes, o.colors their colours. */
  function choropleth(map, o) {
    var metric = o.metric;
    function colour(value) {
      var breaks = o.breaks[metric] || [];
      if (value === null || value === undefined) { return o.noDataColor; }
      for (var i = 0; i < breaks.length; i++) { if (value < breaks[i]) { return o.colors[i]; } }
      return o.colors[o.colors.length - 1];
    }
    function fmt(v) { return v === null || v === undefined ? o.labels.no_data : String(Math.round(v * 100) / 100); }
    var layer = L.geoJSON(o.data, {
      style: function (f) {
        var m = o.metrics[f.properties.kato] || {};
        return {color: "#444", weight: 1, fillOpacity: 0.55, fillColor: colour(m[metric])};
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties, m = o.metrics[p.kato] || {};
        var name = p["name_" + o.lang] || p.name_en;
        lyr.bindPopup(function () {
          var html = '<div class="map-popup region-popup"><strong>' + esc(name) + "</strong><dl>";
          html += row(o.labels.facilities, (m.done || 0) + " / " + (m.facilities || 0));
          Object.keys(o.metricLabels).forEach(function (key) { html += row(o.metricLabels[key], fmt(m[key])); });
          html += "</dl><p>" + link(url(o.regionUrl, p.kato), o.labels.region_map, "details") + "</p></div>";
          return html;
        });
        lyr.bindTooltip(esc(name), {sticky: true});
      }
    });
    layer.setMetric = function (name) {
      metric = name;
      layer.eachLayer(function (lyr) {
        var m = o.metrics[lyr.feature.properties.kato] || {};
        lyr.setStyle({fillColor: colour(m[metric])});
      });
      map.getContainer().setAttribute("data-metric", name);
    };
    layer.addTo(map);
    map.getContainer().setAttribute("data-metric", metric);
    entry(map).layers.choropleth = layer;
    return layer;
  }

  /* Hook a <select> outside the map to a choropleth (no page reload) and keep a hidden form field in step. */
  function bindMetricSelect(selectId, mapId) {
    var select = document.getElementById(selectId);
    if (!select || !registry[mapId] || !registry[mapId].layers.choropleth) { return; }
    select.addEventListener("change", function () {
      registry[mapId].layers.choropleth.setMetric(select.value);
      document.querySelectorAll("[data-legend-metric]").forEach(function (el) {
        el.hidden = el.getAttribute("data-legend-metric") !== select.value;
      });
    });
  }

  window.PortalMaps = {
    registry: registry,
    facilityLayer: facilityLayer,
    featureLayer: featureLayer,
    choropleth: choropleth,
    bindMetricSelect: bindMetricSelect,
    escape: esc
  };
})(window);
