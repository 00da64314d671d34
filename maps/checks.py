"""System check: the locally served map assets are installed (npm ci in maps/assets)."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.checks import Warning, register

from layers.webmap.builders import ASSETS


@register()
def map_assets_installed(app_configs, **kwargs):
    if not getattr(settings, "MAP_ASSETS_LOCAL", False):
        return []
    missing = [path for path in ASSETS.values() if path and not finders.find(path)]
    if not missing:
        return []
    return [
        Warning(
            f"map assets not installed: {', '.join(missing)}",
            hint="run `npm ci` in maps/assets (scripts/_setup.sh does it: map_assets), or set MAP_ASSETS_LOCAL=0",
            id="maps.W001",
        )
    ]
