from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/courses", views.Courses.as_view()),
    path("api/v1/me", views.Me.as_view()),
    path("api/v1/public", views.Public.as_view()),
    path("plain/me", views.plain_me),
]
