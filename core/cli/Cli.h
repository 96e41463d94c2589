// Cli.h - the podwarden command line: run, validate, plugins, version.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace podwarden::cli {

// The podwarden binary's main: dispatches argv[1] to a subcommand and returns the process exit code
// (0 success, 1 failure, 2 bad usage). Writes to stdout/stderr.
int main(int argc, char** argv);

// Same with the arguments after the program name and the streams to write to. `podwarden run` also logs
// through util/Log (stderr unless a sink is set).
int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace podwarden::cli
