"""No road network is demo data (no road data ships with the portal); registered so demo removal covers the flag."""

from gis_portal.demo import register
from roads.models import RoadNetwork

register(label="roads.RoadNetwork", order=95, rows=lambda: RoadNetwork.objects.filter(is_demo=True))
