"""Review tests: real git without outside configuration comes from `isolated_git` in tests/conftest.py."""
