from django.urls import path

from . import views

app_name = "xero"

urlpatterns = [
    path("link/", views.link, name="link"),
    path("callback/", views.callback, name="callback"),
    path("choose/", views.choose, name="choose"),
    path("disconnect/", views.disconnect, name="disconnect"),
]
