"""The flashdrive.yaml contract: model, loader with positions, rules, references."""

from flashdrive.spec.loader import LoadedSpec, load_spec
from flashdrive.spec.contract import Spec

__all__ = ["LoadedSpec", "Spec", "load_spec"]
