from django.contrib.gis.db import models


class BenchParcel(models.Model):
    """Table created by scripts/bench/api.py itself (unmanaged: no migration)."""

    cadastral_number = models.CharField(max_length=20)
    status = models.CharField(max_length=12)
    area_ha = models.FloatField()
    region_id = models.IntegerField()
    updated_at = models.DateTimeField()
    geom = models.MultiPolygonField(srid=4326)

    class Meta:
        managed = False
        db_table = "bench_parcel"
