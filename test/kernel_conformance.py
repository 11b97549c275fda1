"""Jupyter's own kernel conformance suite (jupyter_kernel_test, Debian's python3-jupyter-kernel-test)
run against the gradbook kernel.

usage: /usr/bin/python3 kernel_conformance.py BIN
Installs the kernelspec with `BIN install --prefix TMP` and runs the suite's KernelTests with
unittest; exits non-zero when any check fails.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import jupyter_kernel_test

BIN = sys.argv.pop(1)
PREFIX = tempfile.mkdtemp(prefix="gradbook-kernelspec-")
subprocess.run(["node", BIN, "install", "--prefix", PREFIX], check=True, stdout=subprocess.DEVNULL)
os.environ["JUPYTER_PATH"] = os.path.join(PREFIX, "share", "jupyter")


class GradbookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "gradbook"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = "console.log('hello, world')"
    code_stderr = "console.error('to stderr')"
    code_generate_error = "throw new Error('on purpose')"
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "const greeting: string = 'hi'; greeting + '!'", "result": "'hi!'"},
        {"code": "if (true) { 'from a block' }", "result": "'from a block'"},
        {"code": "[1, 2].map((v) => v * 2)", "result": "[ 2, 4 ]"},
    ]
    code_display_data = [
        {"code": "display({ [Symbol.for('Jupyter.display')]: () => ({ 'text/html': '<b>b</b>' }) })",
         "mime": "text/html"},
        {"code": "display('plain')", "mime": "text/plain"},
    ]
    code_history_pattern = "6 * *"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.max"
    code_clear_output = "clearOutput()"
    completion_samples = [{"text": "Math.ab", "matches": {"abs"}}]
    complete_code_samples = ["1 + 1", "const x = 1;", "function f() { return 1 }"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "if (true) {"]
    invalid_code_samples = ["const const = 1", "1 +* 2"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
