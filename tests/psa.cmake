# tests/psa.cmake: the PSA back-end and the sensor agent are being written (issue 5)
