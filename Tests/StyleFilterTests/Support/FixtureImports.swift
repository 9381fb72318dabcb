// Every test file here sees the shared fixture helpers without importing them one by one.
@_exported import FixtureSupport
