"""Building blocks of the portal's folium map pages (base map with region outlines, layer elements).

Below the domain apps so any app's page can draw a map; the map pages themselves are the maps app's.
"""
