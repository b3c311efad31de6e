import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def staff(client):
    """A client signed in as a finance user who may do everything."""
    user = get_user_model().objects.create_user("finance", password="pw", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client
