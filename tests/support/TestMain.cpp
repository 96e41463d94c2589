// CppUnit runner shared by every test executable. With no argument it runs every registered suite;
// with arguments it runs the named suites (ctest registers one test per suite this way).
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>

int main(int argc, char** argv) {
  CppUnit::TestResult controller;
  CppUnit::TestResultCollector result;
  controller.addListener(&result);
  CppUnit::BriefTestProgressListener progress;
  controller.addListener(&progress);

  // The runner owns the whole registry tree; named suites are run out of it (nothing leaks).
  CppUnit::TestRunner runner;
  runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
  if (argc <= 1) {
    runner.run(controller);
  } else {
    for (int i = 1; i < argc; ++i) {
      try {
        runner.run(controller, argv[i]);
      } catch (const std::exception& e) {
        std::cerr << "no test suite named " << argv[i] << "\n";
        return 2;
      }
    }
  }
  CppUnit::CompilerOutputter outputter(&result, std::cerr);
  outputter.write();
  return result.wasSuccessful() ? 0 : 1;
}
