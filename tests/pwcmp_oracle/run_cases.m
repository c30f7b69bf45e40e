% Reference values for tests/test_studies_pwprior.py, computed by pwcmp itself.
%
%   git clone https://github.com/mantiuk/pwcmp && git -C pwcmp checkout 07876b2
%   cp pwcmp/pw_scale.m tests/pwcmp_oracle/ && cd tests/pwcmp_oracle
%   octave-cli run_cases.m        # GNU Octave 7.3.0 + octave-statistics 1.5.3 (Debian 12)
%
% Prints pwcmp's JOD values (sigma 1.4826) with its default prior ('gaussian') and
% with 'prior','none', both with the default 'mean0' regularisation.
pkg load statistics
warning('off', 'all');
cases = {
 [0 7 5 9; 3 0 6 4; 5 4 0 8; 1 6 2 0],                                % dense, small counts
 [0 3 2 1; 0 0 1 2; 1 2 0 3; 3 1 0 0],                                % unanimous pairs
 [0 4 5; 0 0 3; 0 2 0],                                               % no MLE: 1 never loses
 [0 2 0 0 1; 1 0 3 0 0; 0 1 0 2 0; 0 0 1 0 4; 2 0 0 0 0],             % incomplete design (a cycle)
 [0 3 0 0; 1 0 0 0; 0 0 0 2; 0 0 2 0],                                % two disconnected components
 [0 151 101 68; 288 0 179 131; 333 257 0 171; 370 310 264 0],         % studies/ab.csv, ties dropped
 [0 21 13 4; 8 0 9 7; 16 21 0 9; 26 23 21 0],                         % its image img01
 [0 14 7 9; 27 0 19 10; 38 26 0 18; 35 34 25 0],                      % its first three subjects
 [0 2 3 1; 0 0 2 2; 1 0 0 3; 0 1 1 0]                                 % sparse, partly unanimous
};
for c = 1:numel(cases)
  D = cases{c};
  printf('case %d gaussian: %s\n', c, sprintf('%.10f ', pw_scale(D, {'prior', 'gaussian'})));
  printf('case %d none: %s\n', c, sprintf('%.10f ', pw_scale(D, {'prior', 'none'})));
end
