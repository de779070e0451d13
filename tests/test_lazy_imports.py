"""Lance's REST namespace client is imported only when something uses it."""

import subprocess
import sys

PROBE = """
import sys, tempfile
import medialake, lance, lancedb
db = lancedb.connect(tempfile.mkdtemp())
db.create_table("t", [{"a": 1}])
print("api-before", "lance_namespace_urllib3_client.api" in sys.modules)
import lance_namespace_urllib3_client as client
print("version", client.__version__)
print("rest", client.DataApi.__name__, client.ApiClient.__name__)
print("api-after", "lance_namespace_urllib3_client.api" in sys.modules)
"""


def probe(**env) -> dict:
    import os

    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_tables_work_without_the_rest_client_and_it_loads_on_first_use():
    seen = probe()
    assert seen["api-before"] == "False"
    assert seen["version"] and seen["rest"] == "DataApi ApiClient"
    assert seen["api-after"] == "True"


def test_the_deferral_can_be_turned_off():
    assert probe(MEDIALAKE_EAGER_IMPORTS="1")["api-before"] == "True"
