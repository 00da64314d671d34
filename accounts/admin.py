from django.contrib import admin

from accounts.models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "region", "language"]
    list_filter = ["role", "region"]
    list_select_related = ["user", "region"]
