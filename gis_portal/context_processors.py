from django.conf import settings

from accounts.permissions import user_role
from facilities.selectors import demo_data_present


def portal(request):
    """Values every page needs: the user's role, whether demo data is present, attributions."""
    return {
        "user_role": user_role(getattr(request, "user", None)),
        # Lazy: the EXISTS query runs only on pages whose template shows the banner.
        "demo_present": demo_data_present,
        "boundaries_attribution": settings.BOUNDARIES_ATTRIBUTION,
    }
