#!/bin/bash
echo "Installing Redis"
sudo apt update -y
sudo apt install redis-server -y