"""Crash signature generation, compatible with current Mozilla Socorro.

Standalone: depends on nothing from the processor. Typical use::

    from signature import SignatureGenerator

    generator = SignatureGenerator()            # or signature_list_dir="my/lists"
    result = generator.generate(crash_data)     # see crash_data.schema.json
    result.signature, result.proto_signature, result.notes, result.debug_log
"""

from signature.crashdata import convert_to_crash_data, validation_errors
from signature.generator import ErrorHandler, SignatureGenerator, generate
from signature.result import Result
from signature.siglists import SignatureListError, SignatureLists

__all__ = [
    "ErrorHandler",
    "Result",
    "SignatureGenerator",
    "SignatureListError",
    "SignatureLists",
    "convert_to_crash_data",
    "generate",
    "validation_errors",
]
