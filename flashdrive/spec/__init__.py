"""The flashdrive.yaml contract: model, loader with positions, rules, references."""

from flashdrive.spec.contract import Spec
from flashdrive.spec.loader import LoadedSpec, load_spec

__all__ = ["LoadedSpec", "Spec", "load_spec"]
