echo "Installing Docker and Docker-Compose"
#Install Docker
curl -fsSL https://get.docker.com/ | sh

sudo curl -L https://github.com/docker/compose/releases/latest/download/docker-compose-$(uname -s)-$(uname -m) -o /usr/local/bin/docker-compose
sudo chmod +x /usr/local/bin/docker-compose