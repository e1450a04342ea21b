"""Reading a Django project's settings with `ast`: the settings module, WSGI module and collectstatic."""

from __future__ import annotations

from buildpack_helpers import django_app
from flashdrive.buildpack import detect


def test_settings_module_comes_from_manage_py_and_wsgi_from_the_settings(make_app):
    django = detect(make_app(django_app())).django
    assert django is not None
    assert (django.manage_py, django.settings_module, django.wsgi_module, django.collectstatic) == \
           ("manage.py", "shop.settings", "shop.wsgi", True)


def test_settings_are_read_never_imported(make_app):
    settings = 'raise SystemExit("imported!")\nINSTALLED_APPS = ["django.contrib.staticfiles"]\nSTATIC_ROOT = "s"\n'
    django = detect(make_app(django_app({"shop/settings.py": settings}))).django
    assert django is not None and django.collectstatic  # reached here, so nothing was imported


def test_split_settings_are_followed_through_star_imports(make_app):
    app = make_app(django_app({
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")\n',
        "shop/settings.py": None,
        "config/__init__.py": "",
        "config/settings/__init__.py": "",
        "config/settings/base.py": 'INSTALLED_APPS = ["django.contrib.auth"]\nWSGI_APPLICATION = "config.wsgi.application"\n',
        "config/settings/production.py": "from .base import *  # noqa\nINSTALLED_APPS += ['django.contrib.staticfiles']\n"
                                         "STATIC_ROOT = '/app/static'\n",
    }))
    django = detect(app).django
    assert django is not None
    assert (django.settings_module, django.wsgi_module, django.collectstatic) == \
           ("config.settings.production", "config.wsgi", True)
    assert detect(app).warnings == ()


def test_without_staticfiles_there_is_nothing_to_collect(make_app):
    settings = 'INSTALLED_APPS = ["django.contrib.auth"]\nINSTALLED_APPS.append("shop")\nWSGI_APPLICATION = "shop.wsgi.application"\n'
    django = detect(make_app(django_app({"shop/settings.py": settings}))).django
    assert django is not None and not django.collectstatic


def test_disable_collectstatic_in_the_build_env_skips_it(make_app):
    app = make_app(django_app())
    assert not detect(app, build_env={"DISABLE_COLLECTSTATIC": "1"}).django.collectstatic
    assert detect(app, build_env={"DISABLE_COLLECTSTATIC": "0"}).django.collectstatic


def test_disable_collectstatic_through_the_cli(cli, make_app):
    app = make_app(django_app())
    result = cli("detect", app, "--json", "--build-env", "DISABLE_COLLECTSTATIC=1")
    assert '"collectstatic": false' in result.out


def test_build_env_settings_module_wins_over_manage_py(make_app):
    app = make_app(django_app({"shop/prod.py": 'INSTALLED_APPS = []\nWSGI_APPLICATION = "shop.prod_wsgi.app"\n'}))
    django = detect(app, build_env={"DJANGO_SETTINGS_MODULE": "shop.prod"}).django
    assert (django.settings_module, django.wsgi_module, django.collectstatic) == ("shop.prod", "shop.prod_wsgi", False)


def test_missing_wsgi_application_falls_back_to_the_projects_wsgi_module(make_app):
    settings = 'INSTALLED_APPS = ["django.contrib.staticfiles"]\nSTATIC_ROOT = "static"\n'
    assert detect(make_app(django_app({"shop/settings.py": settings}))).django.wsgi_module == "shop.wsgi"


def test_unreadable_settings_keep_collectstatic_and_say_why(make_app):
    detection = detect(make_app(django_app({"shop/settings.py": "INSTALLED_APPS = [\n"})))
    assert detection.django.collectstatic and detection.django.wsgi_module == "shop.wsgi"
    assert detection.warnings[0].startswith("shop/settings.py:1: cannot parse it (")


def test_missing_static_root_warns_before_the_build_fails(make_app):
    settings = 'INSTALLED_APPS = ["django.contrib.staticfiles"]\nWSGI_APPLICATION = "shop.wsgi.application"\n'
    detection = detect(make_app(django_app({"shop/settings.py": settings})))
    assert detection.warnings == ('shop/settings.py sets no STATIC_ROOT, so `collectstatic` fails at build. Add '
                                  '`STATIC_ROOT = BASE_DIR / "staticfiles"`, or set DISABLE_COLLECTSTATIC=1 (scope: '
                                  "build) in the app's env.",)


def test_django_heroku_is_not_required_but_its_presence_is_a_warning(make_app):
    settings = ('import django_heroku\nINSTALLED_APPS = ["django.contrib.staticfiles"]\n'
                "django_heroku.settings(locals())\n")
    app = make_app(django_app({"requirements.txt": "Django\ngunicorn\ndjango-heroku\n", "shop/settings.py": settings}))
    detection = detect(app)
    # django_heroku.settings() sets STATIC_ROOT itself, so no STATIC_ROOT warning; only the recommendation.
    assert detection.warnings == (
        "django-heroku is abandoned upstream and flashdrive does not need it; replace it with dj-database-url "
        "(DATABASES from DATABASE_URL) and whitenoise (static files), and remove `django_heroku.settings(locals())`.",
    )


def test_manage_py_without_django_dependency_is_flagged(make_app):
    detection = detect(make_app(django_app({"requirements.txt": "gunicorn\n"})))
    assert detection.warnings[0].startswith("manage.py is present but Django is not among the declared dependencies")


def test_settings_requiring_a_secret_at_import_warn_that_collectstatic_will_fail(make_app):
    settings = settings_with("import os\nSECRET_KEY = os.environ['SECRET_KEY']\nDEBUG = os.environ['DEBUG']\n")
    detection = detect(make_app(django_app({"shop/settings.py": settings})))
    assert detection.warnings == (
        'shop/settings.py:2 reads os.environ["SECRET_KEY"] when the settings load, so `collectstatic` fails at build, '
        "where run-time secrets are not set (needs: SECRET_KEY, DEBUG). Read them with os.environ.get(\"SECRET_KEY\") "
        "instead; Django only needs them when serving.",
    )


def test_environ_reads_inside_functions_or_without_collectstatic_are_fine(make_app):
    inside = settings_with("import os\ndef secret():\n    return os.environ['SECRET_KEY']\n")
    assert detect(make_app(django_app({"shop/settings.py": inside}), name="a")).warnings == ()
    eager = settings_with("import os\nSECRET_KEY = os.environ['SECRET_KEY']\n")
    assert detect(make_app(django_app({"shop/settings.py": eager}), name="b"),
                  build_env={"DISABLE_COLLECTSTATIC": "1"}).warnings == ()


def settings_with(head: str) -> str:
    return head + 'INSTALLED_APPS = ["django.contrib.staticfiles"]\nSTATIC_ROOT = "static"\n'
