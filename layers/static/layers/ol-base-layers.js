/* The admin's OpenLayers geometry widget with the administrator's base layers (layers.BaseLayer).
 *
 * PortalBaseLayers.group(defaultLayer, config, wrapperId) returns an ol.layer.Group of the
 * widget's default background and the configured XYZ/WMTS/WMS layers (tiles in EPSG:3857), and
 * writes a switcher under the map: radio buttons for backgrounds, checkboxes for overlays.
 * A layer whose tiles fail to load is marked "cannot be loaded" in the switcher.
 */
(function () {
    "use strict";

    function source(spec) {
        if (spec.kind === "wms") {
            return new ol.source.TileWMS({url: spec.url, params: spec.params, attributions: spec.attribution});
        }
        return new ol.source.XYZ({
            url: spec.url, attributions: spec.attribution, minZoom: spec.minZoom, maxZoom: spec.maxZoom
        });
    }

    function control(fieldset, entry, type, name, config) {
        var label = document.createElement("label"), input = document.createElement("input");
        var note = document.createElement("span"), failures = 0;
        input.type = type;
        input.name = name;
        input.checked = entry.layer.getVisible();
        input.dataset.layer = entry.name;
        label.className = "portal-base-layer";
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + entry.name + " "));
        note.className = "tiles-note";
        note.setAttribute("role", "status");
        label.appendChild(note);
        fieldset.appendChild(label);
        entry.layer.getSource().on("tileloaderror", function () {
            failures += 1;
            if (failures >= 2) { note.textContent = config.unavailable; }
        });
        return input;
    }

    window.PortalBaseLayers = {
        group: function (defaultLayer, config, wrapperId) {
            var entries = [{name: config.defaultName, layer: defaultLayer, overlay: false}];
            config.layers.forEach(function (spec) {
                entries.push({
                    name: spec.name,
                    overlay: spec.overlay,
                    layer: new ol.layer.Tile({source: source(spec), visible: false})
                });
            });
            var group = new ol.layer.Group({layers: entries.map(function (e) { return e.layer; })});
            var wrapper = document.getElementById(wrapperId);
            if (!wrapper || entries.length < 2) { return group; }
            var fieldset = document.createElement("fieldset"), legend = document.createElement("legend");
            fieldset.className = "portal-base-layers";
            legend.textContent = config.legend;
            fieldset.appendChild(legend);
            var radios = [];
            entries.forEach(function (entry) {
                if (entry.overlay) {
                    var box = control(fieldset, entry, "checkbox", wrapperId + "_overlay", config);
                    box.addEventListener("change", function () { entry.layer.setVisible(box.checked); });
                } else {
                    var radio = control(fieldset, entry, "radio", wrapperId + "_base", config);
                    radios.push([radio, entry]);
                    radio.addEventListener("change", function () {
                        radios.forEach(function (pair) { pair[1].layer.setVisible(pair[0].checked); });
                    });
                }
            });
            wrapper.appendChild(fieldset);
            return group;
        }
    };
})();
