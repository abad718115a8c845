#!/usr/bin/env python
"""Django's command-line utility for the resource server of docs/django-oauth-toolkit.md."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resource_server.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
