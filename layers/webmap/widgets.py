"""The admin's geometry widget with the administrator's base layers (facility and parcel editors).

gis_portal.widgets.LocalOSMWidget draws OpenStreetMap only; this widget adds the active base
layers offered to editors (layers.BaseLayer, tiles in EPSG:3857) with a switcher under the map,
and admits their hosts in the page's Content-Security-Policy.
"""

from __future__ import annotations

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from gis_portal.csp import allow_images
from gis_portal.widgets import LocalOSMWidget, PortalGISModelAdmin
from layers.base_layer_selectors import BaseLayerSpec, base_layers_offered
from layers.models import BaseLayer
from layers.webmap.builders import json_for_script


def _ol_spec(spec: BaseLayerSpec) -> dict:
    layer = {
        "name": spec.name,
        "kind": spec.kind,
        "url": spec.url,
        "attribution": spec.attribution,
        "minZoom": spec.min_zoom,
        "maxZoom": spec.max_zoom,
        "overlay": spec.overlay,
    }
    if spec.kind == BaseLayer.Kind.WMS:
        layer["params"] = {
            "LAYERS": spec.wms_layers,
            "FORMAT": spec.wms_format,
            "TRANSPARENT": spec.wms_transparent,
            "VERSION": spec.wms_version,
        }
    return layer


class BaseLayersOSMWidget(LocalOSMWidget):
    template_name = "layers/openlayers_base_layers.html"

    class Media:
        js = ("layers/ol-base-layers.js",)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        offer = base_layers_offered(editors=True)
        allow_images(offer.img_sources)
        config = {
            "defaultName": _("Base map"),
            "legend": _("Map layers"),
            "unavailable": _("cannot be loaded"),
            "layers": [_ol_spec(spec) for spec in offer.layers],
        }
        context["base_layers_json"] = mark_safe(json_for_script(config))  # noqa: S308 - JSON safe inside <script>
        return context


class EditorGISModelAdmin(PortalGISModelAdmin):
    """PortalGISModelAdmin whose geometry widget offers the configured base layers (facility and parcel editors)."""

    gis_widget = BaseLayersOSMWidget
