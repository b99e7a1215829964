from django.urls import URLPattern, path  # noqa: F401 -- the requester pages add theirs

urlpatterns: list[URLPattern] = []
