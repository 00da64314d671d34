/* Layers of the portal's folium maps (see maps/elements.py). No dependencies beyond Leaflet
 * and, for clustered facilities, Leaflet.markercluster; for layers too large to embed,
 * Leaflet.VectorGrid. Data arrive as GeoJSON (EPSG:4326) built in PostGIS, or as Mapbox
 * Vector Tiles from the portal's /tiles/; every text is escaped before it enters a popup. */
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

  /* Popup of a facility; p: {name, kind, region, planned_year, places, is_demo}. */
  function facilityPopup(o, id, p, status) {
    var labels = o.labels;
    var html = '<div class="map-popup facility-popup" data-facility="' + esc(id) + '"><strong>' + esc(p.name) + "</strong><dl>";
    html += row(labels.fields.kind, labels.kinds[p.kind] || p.kind);
    html += row(labels.fields.region, labels.regions[p.region] || p.region);
    html += row(labels.fields.status, labels.statuses[status] || status);
    html += row(labels.fields.planned, p.planned_year);
    html += row(labels.fields.opened, (o.opened || {})[id] || labels.fields.not_opened);
    html += row(labels.fields.places, p.places);
    html += "</dl>";
    if (p.is_demo) { html += '<p class="badge demo">' + esc(labels.fields.demo) + "</p>"; }
    html += '<p class="popup-links">' + link(url(o.detailUrl, id), labels.fields.details, "details") + " " +
      link(url(o.shareUrl, id), labels.fields.share, "share") + "</p></div>";
    return html;
  }

  /* Popup of any feature from o.title, o.popupFields and o.links (see featureLayer); "" when none. */
  function featurePopup(o, p, id) {
    if (!o.popupFields && !o.title) { return ""; }
    var title = o.title ? (p[o.title + "_" + o.lang] || p[o.title] || "") : "";
    var html = '<div class="map-popup ' + esc(o.className || "") + '">' + (title ? "<strong>" + esc(title) + "</strong>" : "") + "<dl>";
    (o.popupFields || []).forEach(function (field) {
      var v = p[field[0]];
      /* o.decimals: {property: digits} rounds a number for reading (e.g. an area in km²). */
      if (o.decimals && o.decimals[field[0]] !== undefined && typeof v === "number") { v = v.toFixed(o.decimals[field[0]]); }
      html += row(field[1], field[2] && field[2][v] !== undefined ? field[2][v] : v);
    });
    html += "</dl>";
    /* o.links: [[URL template with __id__, property holding the id (null: the feature id), label]];
       o.urlTemplate / o.urlProp / o.urlLabel: the same for a single link. */
    var specs = (o.links || []).slice();
    if (o.urlTemplate) { specs.push([o.urlTemplate, o.urlProp || null, o.urlLabel || "→"]); }
    var links = specs.map(function (l) {
      var target = l[1] ? p[l[1]] : id;
      return target === null || target === undefined ? "" : link(url(l[0], target), l[2], "details");
    }).filter(Boolean);
    if (links.length) { html += '<p class="popup-links">' + links.join(" · ") + "</p>"; }
    return html + "</div>";
  }

  /* Facilities as keyboard-focusable div markers, fill = status, ring = kind; clustered if asked. */
  function facilityLayer(map, o) {
    if (o.dataUrl && !o.data) {
      /* The public map: the page holds no data; the collection (with the statuses and opening
         dates as its foreign members) comes from a cacheable GeoJSON endpoint. */
      var holder = L.featureGroup().addTo(map);  // what the layer switcher toggles
      fetch(o.dataUrl, {credentials: "same-origin", headers: {Accept: "application/geo+json"}})
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (fc) {
          facilityLayer(map, Object.assign({}, o, {dataUrl: null, data: fc, statuses: fc.statuses || {}, opened: fc.opened || {}, into: holder}));
        })
        .catch(function () { map.getContainer().setAttribute("data-facility-error", "1"); });
      return holder;
    }
    var markers = {};
    if (o.cluster && L.MarkerCluster) {
      // Panning to a focused marker re-clusters and removes the focused element, which loses
      // keyboard focus; clusters and markers therefore do not pan on focus.
      L.MarkerCluster.mergeOptions({autoPanOnFocus: false});
    }
    var group = o.cluster && L.markerClusterGroup
      ? L.markerClusterGroup({disableClusteringAtZoom: 9, showCoverageOnHover: false, maxClusterRadius: 45})
      : L.featureGroup();
    function popup(f, status) {
      var p = f.properties;
      return facilityPopup(o, f.id, {
        name: p["name_" + o.lang] || p.name_en, kind: p.kind, region: p.region,
        planned_year: p.planned_year, places: p.places, is_demo: p.is_demo
      }, status);
    }
    L.geoJSON(o.data, {
      pointToLayer: function (f, latlng) {
        var p = f.properties, status = o.statuses[f.id] || "planned";
        var name = p["name_" + o.lang] || p.name_en;
        var icon = L.divIcon({
          className: "facility-marker status-" + status + " kind-" + p.kind,
          html: '<span style="background:' + esc(o.statusColors[status] || "#777") +
            ";border-color:" + esc(o.kindColors[p.kind] || "#333") + '"></span>',
          iconSize: [20, 20]
        });
        var marker = L.marker(latlng, {icon: icon, title: name, keyboard: true, riseOnHover: true, autoPanOnFocus: !o.cluster});
        marker.bindPopup(popup(f, status));
        markers[f.id] = marker;
        return marker;
      }
    }).eachLayer(function (layer) { group.addLayer(layer); });
    group.addTo(o.into || map);
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
      /* The data's licence notice (e.g. OpenStreetMap places), shown by the map's attribution control. */
      attribution: o.attribution || null,
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
        var html = featurePopup(o, f.properties, f.id);
        if (!html) { return; }
        lyr.bindPopup(html);
        /* o.tooltipFromPopup: the hover tooltip shows the popup's title and fields, not the title alone. */
        if (o.tooltipFromPopup) { lyr.bindTooltip(html, {sticky: true}); return; }
        var p = f.properties, title = o.title ? (p[o.title + "_" + o.lang] || p[o.title] || "") : "";
        if (title) { lyr.bindTooltip(esc(title), {sticky: true}); }
      }
    });
    layer.addTo(map);
    entry(map).layers[o.key || o.className || L.stamp(layer)] = layer;
    return layer;
  }

  /* --- Layers from the vector tiles (Leaflet.VectorGrid), for more features than a page should embed ---
   * Tiles come from our own origin with the session cookie, so they hold exactly what the user may
   * read; they are decoded in the page (no worker) and drawn as SVG per tile. */

  var FEATURE_ID = "@id";  // property that carries the tile feature's id (the row's primary key)
  var TILE_PANE = "portalVectorTiles";
  var VectorGridTiles = null;

  function vectorGridClass() {
    if (VectorGridTiles || !L.VectorGrid) { return VectorGridTiles; }
    var Protobuf = L.VectorGrid.Protobuf;
    VectorGridTiles = Protobuf.extend({
      _getVectorTilePromise: function (coords) {
        return Protobuf.prototype._getVectorTilePromise.call(this, coords).then(function (tile) {
          // ST_AsMVT stores the primary key as the feature id, which VectorGrid passes neither to
          // style functions nor to events: copy it into the properties.
          Object.keys(tile.layers).forEach(function (name) {
            tile.layers[name].features.forEach(function (f) { f.properties[FEATURE_ID] = f.id; });
          });
          return tile;
        }, function () {
          // A tile that cannot be fetched (network gone) stays empty, like VectorGrid's non-200 answers.
          return {layers: {}};
        });
      },
      _createLayer: function (feat, pxPerExtent) {
        var layer = Protobuf.prototype._createLayer.call(this, feat, pxPerExtent);
        if (feat.type === 1) {
          // A point in a tile has no LatLng. Leaflet >= 1.8 asks small circle markers for theirs when
          // it fires a mouse event, which throws (Leaflet.VectorGrid #168, #267); without
          // getLatLng Leaflet uses the pointer's position.
          layer.getLatLng = null;
        }
        return layer;
      }
    });
    return VectorGridTiles;
  }

  /* A VectorGrid of o.url in a pane above the GeoJSON overlays (regions, districts) and below markers
   * and popups, so its features can be clicked; style(properties) -> Leaflet path style or [] (hidden). */
  function tileGrid(map, o, style, zIndex) {
    var Grid = vectorGridClass();
    if (!Grid) { throw new Error("Leaflet.VectorGrid is not loaded"); }
    if (!map.getPane(TILE_PANE)) { map.createPane(TILE_PANE).style.zIndex = 450; }
    var styles = {};
    styles[o.layer] = style;
    var grid = new Grid(o.url, {
      pane: TILE_PANE,
      zIndex: zIndex,
      // SVG, not canvas: VectorGrid 1.3.0's canvas renderer calls L.DomEvent.fakeStop on click,
      // which Leaflet 1.8 removed (Leaflet.VectorGrid #274); SVG paths use Leaflet's own events.
      rendererFactory: L.svg.tile,
      interactive: true,
      // With a feature id VectorGrid also unregisters a tile's features from the map when it unloads.
      getFeatureId: function (f) { return f.id; },
      vectorTileLayerStyles: styles,
      fetchOptions: {credentials: "same-origin"}
    });
    grid.on("load", function () { map.getContainer().setAttribute("data-tiles-loaded-" + o.layer, "true"); });
    return grid;
  }

  function openPopup(map, latlng, html) {
    if (html) { L.popup().setLatLng(latlng).setContent(html).openOn(map); }
  }

  /* Any tiled layer: the options of featureLayer plus o.url, o.layer (the tiles' layer name) and
   * o.filter {property: value} (only matching features are drawn). */
  function vectorTileLayer(map, o) {
    var base = o.style || {}, filter = o.filter || {};
    var grid = tileGrid(map, o, function (p) {
      for (var key in filter) {
        if (Object.prototype.hasOwnProperty.call(filter, key) && String(p[key]) !== String(filter[key])) { return []; }
      }
      var s = Object.assign({fill: true, radius: 6}, base);
      if (o.colorBy) {
        var c = (o.colors || {})[p[o.colorBy]] || o.fallbackColor || "#777";
        s.color = c;
        s.fillColor = c;
      }
      return s;
    }, 1);
    grid.on("click", function (e) {
      var p = e.layer.properties;
      openPopup(map, e.latlng, featurePopup(o, p, p[FEATURE_ID]));
    });
    grid.addTo(map);
    entry(map).layers[o.key || o.layer] = grid;
    map.getContainer().setAttribute("data-vector-tiles-" + o.layer, "true");
    return grid;
  }

  /* Facilities from the tiles: fill = status, ring = kind, like the markers. o.statusIds {status: [ids]}
   * lists the facilities to draw: the page's filters, date and the user's scope decided them. */
  function facilityTileLayer(map, o) {
    var statusOf = {}, count = 0;
    Object.keys(o.statusIds || {}).forEach(function (status) {
      o.statusIds[status].forEach(function (id) { statusOf[id] = status; count += 1; });
    });
    var grid = tileGrid(map, o, function (p) {
      var status = statusOf[p[FEATURE_ID]];
      if (status === undefined) { return []; }
      return {radius: 7, fill: true, fillColor: o.statusColors[status] || "#777", fillOpacity: 0.95,
              color: o.kindColors[p.kind] || "#333", weight: 3, opacity: 1};
    }, 2);
    grid.on("click", function (e) {
      var p = e.layer.properties, id = p[FEATURE_ID];
      openPopup(map, e.latlng, facilityPopup(o, id, {
        name: p["name_" + o.lang] || p.name_en, kind: p.kind, region: p.region,
        planned_year: p.planned_year, places: p.places, is_demo: p.is_demo
      }, statusOf[id]));
    });
    grid.addTo(map);
    entry(map).layers.facilities = grid;
    map.getContainer().setAttribute("data-vector-tiles-" + o.layer, "true");
    map.getContainer().setAttribute("data-facility-count", count);
    return grid;
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
    vectorTileLayer: vectorTileLayer,
    facilityTileLayer: facilityTileLayer,
    choropleth: choropleth,
    bindMetricSelect: bindMetricSelect,
    escape: esc
  };
})(window);
