"""The provider's ``airflow dataops ...`` commands (declared under the ``cli`` key of the provider info)."""
