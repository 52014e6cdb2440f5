#!/bin/bash
set -x

sudo apt install unzip -y
unzip /opt/jenkins-files/jenkins-config.zip -d /opt/jenkins-files/
