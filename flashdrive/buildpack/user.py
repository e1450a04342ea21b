"""The user the buildpack's images run as, apart from the rest of the buildpack so that the
resolved model can name it without loading the detectors."""

APP_UID = 10001  # fixed, so files on shared disks keep their owner across rebuilds and hosts
