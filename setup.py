"""Build step beside pyproject.toml: the kernels compiled ahead of time (``wikisearch._aot``).

``pip install`` (and ``pip install -e``, in place) compiles every recorded kernel signature with
numba's pycc into one C extension (``wikisearch/_aot_build.py``; a few minutes of CPU, once), so
that the first run after an install compiles nothing and a query process never imports numba;
``wikisearch._aot_key`` (``_aot_key.c``, a second of compiling) checks a call's argument types
in C.
Without a C compiler (or with ``WIKISEARCH_NO_AOT=1``) the install still succeeds, without the
extension: the kernels then compile on first use (numba's JIT), as before.
"""
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildKernels(build_ext):
    """``build_ext`` that builds ``wikisearch._aot`` with ``wikisearch._aot_build``, and leaves
    it out with a warning when it cannot (the JIT is the fallback)."""

    def build_extension(self, ext):
        if ext.name == "wikisearch._aot_key":        # the calls' type check, in C (numpy's headers)
            import numpy
            ext.include_dirs.append(numpy.get_include())
            return super().build_extension(ext)
        if ext.name != "wikisearch._aot":
            return super().build_extension(ext)
        if os.environ.get("WIKISEARCH_NO_AOT", "") not in ("", "0"):
            print("WIKISEARCH_NO_AOT set: kernels not compiled ahead of time", file=sys.stderr)
            return None
        out_dir = os.path.dirname(self.get_ext_fullpath(ext.name))
        os.makedirs(out_dir, exist_ok=True)
        try:
            sys.path.insert(0, HERE)
            from wikisearch._aot_build import build
            build(out_dir, say=lambda line: print(line, file=sys.stderr, flush=True))
        except Exception as e:                     # noqa: BLE001  (no compiler, a numba without pycc)
            print(f"warning: kernels not compiled ahead of time ({type(e).__name__}: {e}); "
                  "they compile on first use instead", file=sys.stderr)
        finally:
            if sys.path and sys.path[0] == HERE:
                sys.path.pop(0)
        return None

    def copy_extensions_to_source(self):
        """``pip install -e``: setuptools builds into ``build_lib`` and copies each extension into
        the source tree; the manifest goes with it."""
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            if ext.name != "wikisearch._aot":
                continue
            inplace, regular = self._get_inplace_equivalent(build_py, ext)
            built = os.path.join(os.path.dirname(regular), "_aot.json")
            target = os.path.join(os.path.dirname(inplace), "_aot.json")
            if os.path.exists(built):
                self.copy_file(built, target, level=self.verbose)
            elif os.path.exists(target):           # (an extension left from an earlier install
                os.remove(target)                  # is refused without its manifest)

    def get_outputs(self):
        outputs = super().get_outputs()
        manifest = os.path.join(os.path.dirname(self.get_ext_fullpath("wikisearch._aot")), "_aot.json")
        return outputs + [manifest] if os.path.exists(manifest) else outputs


setup(ext_modules=[Extension("wikisearch._aot", sources=[], optional=True),
                   Extension("wikisearch._aot_key", sources=["wikisearch/_aot_key.c"], optional=True)],
      cmdclass={"build_ext": BuildKernels})
