// Module Kernels: see README.md (Layout). Filled in by its issue.
import COpenBLAS
import CKernels
