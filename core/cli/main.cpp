#include "cli/Cli.h"

int main(int argc, char** argv) {
  return podwarden::cli::main(argc, argv);
}
