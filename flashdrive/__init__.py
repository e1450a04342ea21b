"""flashdrive: one flashdrive.yaml in, Pulumi infrastructure out."""

__version__ = "0.1.0"
