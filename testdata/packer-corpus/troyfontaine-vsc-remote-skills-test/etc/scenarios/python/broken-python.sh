#!/usr/bin/env bash
set -x
