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

  CppUnit::TestRunner runner;
  CppUnit::Test* all = CppUnit::TestFactoryRegistry::getRegistry().makeTest();
  if (argc <= 1) {
    runner.addTest(all);
  } else {
    for (int i = 1; i < argc; ++i) {
      try {
        runner.addTest(all->findTest(argv[i]));
      } catch (const std::exception& e) {
        std::cerr << "no test suite named " << argv[i] << "\n";
        return 2;
      }
    }
  }
  runner.run(controller);
  CppUnit::CompilerOutputter outputter(&result, std::cerr);
  outputter.write();
  return result.wasSuccessful() ? 0 : 1;
}
